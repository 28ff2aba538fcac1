/**
 * `npm run starter`: the stream reader alone, as a container runs it. Needs TEMPORAL_ADDRESS.
 */
import { loadOrExit } from '../config';
import { createLogger } from '../common/logger';
import { startObservability } from '../common/observability';
import { connectClient } from '../temporal/connection';
import { registerStarterReadiness } from './health';
import { createStarterMetrics } from './metrics';
import { startStarter } from './run';

async function main(): Promise<void> {
  const config = loadOrExit('starter');
  const { log, registry, server } = await startObservability({ config, role: 'starter', runsWorker: false });
  if (!config.temporal.address) {
    log.error('TEMPORAL_ADDRESS is required for npm run starter (npm start runs an embedded server instead)');
    process.exit(78);
  }
  const client = await connectClient(config.temporal);
  const starter = await startStarter({ config, client, log, metrics: server ? createStarterMetrics(registry) : undefined });
  registerStarterReadiness(server, starter, client);
  const shutdown = async (signal: string) => {
    log.info('shutting down', { signal });
    await starter.stop();
    await client.connection.close();
    await server?.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  // The configured logger may not exist yet; the messages that get here carry no secret.
  createLogger('error', { role: 'starter' }).error('starter failed', { error: (error as Error).message });
  process.exit(1);
});
