/**
 * `npm run starter`: the stream reader alone, as a container runs it. Needs TEMPORAL_ADDRESS.
 */
import { loadOrExit } from '../config';
import { createLogger } from '../common/logger';
import { startObservability } from '../common/observability';
import { EXIT_CONFIG, EXIT_FAILED, EXIT_STOPPED, handleStopSignals, untilAborted } from '../common/shutdown';
import { logStartupNotes } from '../common/startup';
import { connectClient } from '../temporal/connection';
import { registerStarterReadiness } from './health';
import { createStarterMetrics } from './metrics';
import { startStarter } from './run';

async function main(): Promise<void> {
  const config = loadOrExit('starter');
  const { log, registry, server } = await startObservability({ config, role: 'starter', runsWorker: false });
  logStartupNotes(config, log);
  if (!config.temporal.address) {
    log.error('TEMPORAL_ADDRESS is required for npm run starter (npm start runs an embedded server instead)');
    process.exit(EXIT_CONFIG);
  }
  // Installed before anything can wait: a stop signal during start-up ends it (exit 0).
  const signals = handleStopSignals(log);
  try {
    log.info('connecting to Temporal', { address: config.temporal.address });
    const client = await untilAborted(connectClient(config.temporal), signals.startup);
    const metrics = server ? createStarterMetrics(registry) : undefined;
    const starter = await startStarter({ config, client, log, metrics, signal: signals.startup }).catch(async (error: unknown) => {
      await client.connection.close().catch(() => undefined);
      throw error;
    });
    registerStarterReadiness(server, starter, client);
    let stopping = false;
    signals.running((signal) => {
      if (stopping) return;
      stopping = true;
      log.info('shutting down', { signal });
      void starter
        .stop()
        .then(() => client.connection.close())
        .then(() => server?.close())
        .finally(() => process.exit(EXIT_STOPPED));
    });
  } catch (error) {
    if (signals.startup.aborted) process.exit(EXIT_STOPPED);
    throw error;
  }
}

main().catch((error: unknown) => {
  // The configured logger may not exist yet; the messages that get here carry no secret.
  createLogger('error', { role: 'starter' }).error('starter failed', { error: (error as Error).message });
  process.exit(EXIT_FAILED);
});
