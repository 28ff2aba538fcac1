/**
 * `npm run worker`: the worker role alone, as a container runs it. Needs TEMPORAL_ADDRESS.
 */
import { loadOrExit } from '../config';
import { createLogger } from '../common/logger';
import { startObservability } from '../common/observability';
import { connectClient, connectWorker } from '../temporal/connection';
import { registerWorkerReadiness } from './health';
import { createWorkerMetrics } from './metrics';
import { createWorker } from './run';

async function main(): Promise<void> {
  const config = loadOrExit('worker');
  const { log, registry, server } = await startObservability({ config, role: 'worker', runsWorker: true });
  if (!config.temporal.address) {
    log.error('TEMPORAL_ADDRESS is required for npm run worker (npm start runs an embedded server instead)');
    process.exit(78);
  }
  const { connection, namespace } = await connectWorker(config.temporal);
  const client = await connectClient(config.temporal);
  const metrics = server ? createWorkerMetrics(registry) : undefined;
  const worker = await createWorker({ config, connection, namespace, log, client, metrics });
  registerWorkerReadiness(server, worker, connection);
  log.info('worker polling', { address: config.temporal.address, namespace, taskQueue: config.temporal.taskQueue });
  // Worker.run() installs SIGINT/SIGTERM handlers that drain in-flight tasks before exiting.
  await worker.run();
  await client.connection.close();
  await connection.close();
  await server?.close();
}

main().catch((error: unknown) => {
  // The configured logger may not exist yet; this one masks nothing, and the messages that get
  // here (connection refused, port taken) carry no secret.
  createLogger('error', { role: 'worker' }).error('worker failed', { error: (error as Error).message });
  process.exit(1);
});
