/**
 * `npm run worker`: the worker role alone, as a container runs it. Needs TEMPORAL_ADDRESS.
 */
import { loadOrExit } from '../config';
import { createLogger } from '../common/logger';
import { startObservability } from '../common/observability';
import { EXIT_CONFIG, EXIT_FAILED, EXIT_STOPPED, handleStopSignals, untilAborted } from '../common/shutdown';
import { logStartupNotes } from '../common/startup';
import { connectClient, connectWorker } from '../temporal/connection';
import { registerWorkerReadiness } from './health';
import { createWorkerMetrics } from './metrics';
import { createWorker } from './run';

async function main(): Promise<void> {
  const config = loadOrExit('worker');
  const { log, registry, server } = await startObservability({ config, role: 'worker', runsWorker: true });
  logStartupNotes(config, log);
  if (!config.temporal.address) {
    log.error('TEMPORAL_ADDRESS is required for npm run worker (npm start runs an embedded server instead)');
    process.exit(EXIT_CONFIG);
  }
  // Installed before anything can wait: a stop signal during start-up ends it (exit 0).
  const signals = handleStopSignals(log);
  let worker;
  let closeConnections: () => Promise<void>;
  try {
    log.info('connecting to Temporal', { address: config.temporal.address });
    const { connection, namespace } = await untilAborted(connectWorker(config.temporal), signals.startup);
    const client = await untilAborted(connectClient(config.temporal), signals.startup);
    closeConnections = async () => {
      await client.connection.close();
      await connection.close();
    };
    const metrics = server ? createWorkerMetrics(registry) : undefined;
    worker = await untilAborted(createWorker({ config, connection, namespace, log, client, metrics }), signals.startup);
    registerWorkerReadiness(server, worker, connection);
    log.info('worker polling', { address: config.temporal.address, namespace, taskQueue: config.temporal.taskQueue });
  } catch (error) {
    if (signals.startup.aborted) process.exit(EXIT_STOPPED);
    throw error;
  }
  // From here the SDK's own SIGINT/SIGTERM handlers drain in-flight tasks; run() then returns.
  signals.running(() => undefined);
  await worker.run();
  await closeConnections();
  await server?.close();
}

main().catch((error: unknown) => {
  // The configured logger may not exist yet; this one masks nothing, and the messages that get
  // here (connection refused, port taken) carry no secret.
  createLogger('error', { role: 'worker' }).error('worker failed', { error: (error as Error).message });
  process.exit(EXIT_FAILED);
});
