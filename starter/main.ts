/**
 * `npm run starter`: the stream reader alone, as a container runs it. Needs TEMPORAL_ADDRESS.
 */
import { loadOrExit } from '../config';
import { createLogger } from '../common/logger';
import { EXIT_CONFIG, EXIT_FAILED, EXIT_STOPPED, handleStopSignals, untilAborted } from '../common/shutdown';
import { logStartupNotes } from '../common/startup';
import { connectClient } from '../temporal/connection';
import { startStarter } from './run';

async function main(): Promise<void> {
  const config = loadOrExit('starter');
  const log = createLogger(config.logLevel, { role: 'starter' });
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
    const starter = await startStarter({ config, client, log, signal: signals.startup }).catch(async (error: unknown) => {
      await client.connection.close().catch(() => undefined);
      throw error;
    });
    let stopping = false;
    signals.running((signal) => {
      if (stopping) return;
      stopping = true;
      log.info('shutting down', { signal });
      void starter
        .stop()
        .then(() => client.connection.close())
        .finally(() => process.exit(EXIT_STOPPED));
    });
  } catch (error) {
    if (signals.startup.aborted) process.exit(EXIT_STOPPED);
    throw error;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`starter failed: ${(error as Error).message}\n`);
  process.exit(EXIT_FAILED);
});
