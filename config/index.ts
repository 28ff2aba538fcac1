/**
 * The only module that reads process.env: everything else receives a typed configuration.
 */
import { createLogger } from '../common/logger';
import { ConfigError, loadConfig, type ConnectorConfig, type StarterConfig, type WorkerConfig } from './load';

export * from './load';

export function loadFromProcess(role: 'worker'): WorkerConfig;
export function loadFromProcess(role: 'starter'): StarterConfig;
export function loadFromProcess(role: 'all'): ConnectorConfig;
export function loadFromProcess(role: 'worker' | 'starter' | 'all'): WorkerConfig | StarterConfig | ConnectorConfig {
  return loadConfig(role as 'all', { env: process.env });
}

/**
 * Loads the configuration or exits with one log line naming every bad variable (no stack trace),
 * in the same JSON shape as every other line the connector writes.
 */
export function loadOrExit(role: 'worker'): WorkerConfig;
export function loadOrExit(role: 'starter'): StarterConfig;
export function loadOrExit(role: 'all'): ConnectorConfig;
export function loadOrExit(role: 'worker' | 'starter' | 'all'): WorkerConfig | StarterConfig | ConnectorConfig {
  try {
    return loadFromProcess(role as 'all');
  } catch (error) {
    if (error instanceof ConfigError) {
      // The level of the configuration is unknown: an error is written whatever it would have said.
      const summary = `Invalid configuration (${error.problems.length} problem${error.problems.length === 1 ? '' : 's'}): ${error.problems.join('; ')}`;
      createLogger('error', { component: 'config' }).error(summary, { problems: error.problems });
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

/** The raw environment, for tools that pass it on (child processes in tests, the demo). */
export function processEnvironment(): Record<string, string | undefined> {
  return { ...process.env };
}
