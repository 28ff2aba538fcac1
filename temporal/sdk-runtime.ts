/**
 * The Temporal SDK runtime of a process that runs a worker, installed before any native
 * connection exists: its logger forwards what the SDK's TypeScript side, the workflow and
 * activity context loggers and the Rust core log into the connector's own JSON stream, under
 * CONNECTOR_LOG_LEVEL, instead of the SDK's multi-line text on stderr.
 *
 * When metrics are exposed, the core's Prometheus exporter also starts, on a loopback port of its
 * own: the connector's metrics server reads it and serves it with the connector's series on the
 * one port an operator scrapes (the exporter cannot share a port, and the SDK's own meter would
 * not reach the core's task, slot and poll metrics).
 */
import { type LogLevel as SdkLogLevel, type LogMetadata, LogTimestamp, Runtime } from '@temporalio/worker';
import type { LogLevel, StructuredLogger } from '../common/logger';

const FROM_SDK: Record<SdkLogLevel, LogLevel> = { TRACE: 'debug', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };
const TO_SDK: Record<LogLevel, SdkLogLevel> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };

/** `temporal.core`, `temporal.worker`, `temporal.workflow`, `temporal.activity`... */
function loggerName(meta: LogMetadata | undefined): string {
  const component = typeof meta?.sdkComponent === 'string' ? meta.sdkComponent : 'sdk';
  return `temporal.${component}`;
}

/** The SDK's Logger interface over ours. */
export function sdkLogger(log: StructuredLogger) {
  const names = new Map<string, StructuredLogger>();
  const write = (level: SdkLogLevel, message: string, meta?: LogMetadata) => {
    const ours = FROM_SDK[level] ?? 'info';
    if (!log.enabled(ours)) return;
    const name = loggerName(meta);
    let named = names.get(name);
    if (!named) names.set(name, (named = log.named(name)));
    // The core's entries carry their own time (they are buffered briefly to be sorted).
    const nanos = meta?.[LogTimestamp] as bigint | undefined;
    const at = typeof nanos === 'bigint' ? new Date(Number(nanos / 1_000_000n)) : undefined;
    const { sdkComponent: _component, ...fields } = meta ?? {};
    named.log(ours, message, fields, at);
  };
  return {
    log: write,
    trace: (message: string, meta?: LogMetadata) => write('TRACE', message, meta),
    debug: (message: string, meta?: LogMetadata) => write('DEBUG', message, meta),
    info: (message: string, meta?: LogMetadata) => write('INFO', message, meta),
    warn: (message: string, meta?: LogMetadata) => write('WARN', message, meta),
    error: (message: string, meta?: LogMetadata) => write('ERROR', message, meta),
  };
}

export interface SdkRuntimeOptions {
  log: StructuredLogger;
  level: LogLevel;
  /** `127.0.0.1:<port>` for the core's Prometheus exporter; none when metrics are not exposed. */
  prometheusBindAddress?: string;
}

/** Call once, before the first NativeConnection or Worker. */
export function installSdkRuntime({ log, level, prometheusBindAddress }: SdkRuntimeOptions): Runtime {
  return Runtime.install({
    logger: sdkLogger(log),
    telemetryOptions: {
      // Third-party crates under the core only at error: their debug output is not ours to show.
      logging: { filter: { core: TO_SDK[level], other: 'ERROR' }, forward: {} },
      ...(prometheusBindAddress
        ? {
            metrics: {
              prometheus: { bindAddress: prometheusBindAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true },
            },
          }
        : {}),
    },
  });
}
