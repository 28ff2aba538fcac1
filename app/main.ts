/**
 * `npm start`: worker and starter in one process. With TEMPORAL_ADDRESS unset it first starts an
 * embedded Temporal dev server (state kept under CONNECTOR_DATA_DIR) and prints its Web UI.
 */
import { loadOrExit } from '../config';
import { createLogger } from '../common/logger';
import { startObservability } from '../common/observability';
import { connectClient, connectWorker } from '../temporal/connection';
import { registerStarterReadiness } from '../starter/health';
import { createStarterMetrics } from '../starter/metrics';
import { startStarter } from '../starter/run';
import { registerWorkerReadiness } from '../worker/health';
import { createWorkerMetrics } from '../worker/metrics';
import { createWorker } from '../worker/run';
import { startEmbeddedTemporal } from './embedded-temporal';

async function main(): Promise<void> {
  const config = loadOrExit('all');
  const { log, registry, server: metricsServer } = await startObservability({ config, role: 'connector', runsWorker: true });
  const server = config.temporal.address ? undefined : await startEmbeddedTemporal(config.temporal, log);
  const address = config.temporal.address ?? server!.address;
  if (server?.uiUrl) process.stdout.write(`Temporal Web UI: ${server.uiUrl}/namespaces/${config.temporal.namespace}/workflows\n`);

  const { connection, namespace } = await connectWorker(config.temporal, address);
  const client = await connectClient(config.temporal, address);
  const worker = await createWorker({ config, connection, namespace, client, log: log.child({ role: 'worker' }), metrics: metricsServer ? createWorkerMetrics(registry) : undefined });
  const starter = await startStarter({ config, client, log: log.child({ role: 'starter' }), metrics: metricsServer ? createStarterMetrics(registry) : undefined });
  registerWorkerReadiness(metricsServer, worker, connection);
  registerStarterReadiness(metricsServer, starter, client);

  // The SDK runtime shuts the worker down on SIGINT/SIGTERM; stop reading the stream first.
  let stopping: Promise<void> | undefined;
  const stopStarter = () => (stopping ??= starter.stop());
  process.once('SIGINT', stopStarter);
  process.once('SIGTERM', stopStarter);

  await worker.run();
  await stopStarter();
  await client.connection.close();
  await connection.close();
  await server?.stop();
  await metricsServer?.close();
  log.info('stopped');
}

main().catch((error: unknown) => {
  // The configured logger may not exist yet; the messages that get here carry no secret.
  createLogger('error', { role: 'connector' }).error('connector failed', { error: (error as Error).message });
  process.exit(1);
});
