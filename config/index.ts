/**
 * The only module that reads process.env: everything else receives a typed configuration.
 */
import { ConfigError, loadConfig, type ConnectorConfig, type StarterConfig, type WorkerConfig } from './load';

export * from './load';

export function loadFromProcess(role: 'worker'): WorkerConfig;
export function loadFromProcess(role: 'starter'): StarterConfig;
export function loadFromProcess(role: 'all'): ConnectorConfig;
export function loadFromProcess(role: 'worker' | 'starter' | 'all'): WorkerConfig | StarterConfig | ConnectorConfig {
  return loadConfig(role as 'all', { env: process.env });
}

/** Loads the configuration or exits with one message naming every bad variable, no stack trace. */
export function loadOrExit(role: 'worker'): WorkerConfig;
export function loadOrExit(role: 'starter'): StarterConfig;
export function loadOrExit(role: 'all'): ConnectorConfig;
export function loadOrExit(role: 'worker' | 'starter' | 'all'): WorkerConfig | StarterConfig | ConnectorConfig {
  try {
    return loadFromProcess(role as 'all');
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

/** The raw environment, for tools that pass it on (child processes in tests, the demo). */
export function processEnvironment(): Record<string, string | undefined> {
  return { ...process.env };
}
