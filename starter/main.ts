/**
 * `npm run starter`: the stream reader alone, as a container runs it. Needs TEMPORAL_ADDRESS.
 */
import { loadOrExit } from '../config';
import { createLogger } from '../common/logger';
import { logStartupNotes } from '../common/startup';
import { connectClient } from '../temporal/connection';
import { startStarter } from './run';

async function main(): Promise<void> {
  const config = loadOrExit('starter');
  const log = createLogger(config.logLevel, { role: 'starter' });
  logStartupNotes(config, log);
  if (!config.temporal.address) {
    log.error('TEMPORAL_ADDRESS is required for npm run starter (npm start runs an embedded server instead)');
    process.exit(78);
  }
  const client = await connectClient(config.temporal);
  const starter = await startStarter({ config, client, log });
  const shutdown = async (signal: string) => {
    log.info('shutting down', { signal });
    await starter.stop();
    await client.connection.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`starter failed: ${(error as Error).message}\n`);
  process.exit(1);
});
