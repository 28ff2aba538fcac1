/**
 * What every connector process sets up first, so that nothing it does later escapes it: the one
 * JSON log stream (with the Temporal SDK's own entries forwarded into it when the process runs a
 * worker), and, when CONNECTOR_EXPOSE_METRICS is true, the metrics and health port.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { ConnectorConfig } from '../config/load';
import { createLogger, type StructuredLogger } from './logger';
import { freeLoopbackPort, startMetricsServer, type MetricsServer } from './metrics-server';
import { configuredSecrets } from './secrets';

export interface Observability {
  log: StructuredLogger;
  /** Where the roles register their series (always present; served only when exposed). */
  registry: Registry;
  /** The HTTP port, when CONNECTOR_EXPOSE_METRICS is true. */
  server?: MetricsServer;
}

type ObservedConfig = Pick<ConnectorConfig, 'logLevel' | 'metrics' | 'temporal'> & Partial<Pick<ConnectorConfig, 'opencti' | 'virusTotal'>>;

export interface ObservabilityOptions {
  config: ObservedConfig;
  role: 'worker' | 'starter' | 'connector';
  /** The process runs a Temporal worker: install the SDK runtime (logs, core metrics) now. */
  runsWorker: boolean;
}

export async function startObservability({ config, role, runsWorker }: ObservabilityOptions): Promise<Observability> {
  const log = createLogger(config.logLevel, { role }, { secrets: configuredSecrets(config) });
  const registry = new Registry();
  let upstream: string | undefined;
  if (runsWorker) {
    // Loaded here only: a starter has no worker and needs no native runtime.
    const { installSdkRuntime } = await import('../temporal/sdk-runtime');
    const sdkPort = config.metrics.expose ? await freeLoopbackPort() : undefined;
    installSdkRuntime({ log, level: config.logLevel, prometheusBindAddress: sdkPort ? `127.0.0.1:${sdkPort}` : undefined });
    if (sdkPort) upstream = `http://127.0.0.1:${sdkPort}/metrics`;
  }
  if (!config.metrics.expose) return { log, registry };
  collectDefaultMetrics({ register: registry });
  const server = await startMetricsServer({ port: config.metrics.port, registry, upstream, log });
  return { log, registry, server };
}
