/**
 * `npm start`: worker and starter in one process. With TEMPORAL_ADDRESS unset it first starts an
 * embedded Temporal dev server (state kept under CONNECTOR_DATA_DIR) and prints its Web UI.
 */
import { loadOrExit } from '../config';
import { createLogger } from '../common/logger';
import { startObservability } from '../common/observability';
import { EXIT_FAILED, EXIT_STOPPED, handleStopSignals, untilAborted } from '../common/shutdown';
import { logStartupNotes } from '../common/startup';
import { connectClient, connectWorker } from '../temporal/connection';
import { registerStarterReadiness } from '../starter/health';
import { createStarterMetrics } from '../starter/metrics';
import { startStarter, type Starter } from '../starter/run';
import { registerWorkerReadiness } from '../worker/health';
import { createWorkerMetrics } from '../worker/metrics';
import { createWorker } from '../worker/run';
import type { DevServer } from '../temporal/dev-server';
import { startEmbeddedTemporal } from './embedded-temporal';

async function main(): Promise<void> {
  const config = loadOrExit('all');
  const { log, registry, server: metricsServer } = await startObservability({ config, role: 'connector', runsWorker: true });
  logStartupNotes(config, log);
  // Installed before anything can wait: a stop signal during start-up ends it (exit 0), after
  // stopping the embedded server if it was already running.
  const signals = handleStopSignals(log);
  let server: DevServer | undefined;
  const opened: Array<() => Promise<void>> = [];
  let starter: Starter;
  let worker;
  try {
    const starting = config.temporal.address ? undefined : startEmbeddedTemporal(config.temporal, log);
    // A server that comes up after the stop signal is stopped all the same.
    starting?.then((started) => (signals.startup.aborted ? started.stop() : undefined)).catch(() => undefined);
    server = starting ? await untilAborted(starting, signals.startup) : undefined;
    const address = config.temporal.address ?? server!.address;
    if (server?.uiUrl) process.stdout.write(`Temporal Web UI: ${server.uiUrl}/namespaces/${config.temporal.namespace}/workflows\n`);

    log.info('connecting to Temporal', { address });
    const { connection, namespace } = await untilAborted(connectWorker(config.temporal, address), signals.startup);
    opened.push(() => connection.close());
    const client = await untilAborted(connectClient(config.temporal, address), signals.startup);
    opened.push(() => client.connection.close());
    const workerMetrics = metricsServer ? createWorkerMetrics(registry) : undefined;
    worker = await untilAborted(
      createWorker({ config, connection, namespace, client, log: log.child({ role: 'worker' }), metrics: workerMetrics }),
      signals.startup,
    );
    const starterMetrics = metricsServer ? createStarterMetrics(registry) : undefined;
    starter = await startStarter({ config, client, log: log.child({ role: 'starter' }), metrics: starterMetrics, signal: signals.startup });
    registerWorkerReadiness(metricsServer, worker, connection);
    registerStarterReadiness(metricsServer, starter, client);
  } catch (error) {
    if (!signals.startup.aborted) throw error;
    for (const close of opened.reverse()) await close().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    process.exit(EXIT_STOPPED);
  }

  // The SDK runtime shuts the worker down on SIGINT/SIGTERM; stop reading the stream first.
  let stopping: Promise<void> | undefined;
  const stopStarter = () => (stopping ??= starter.stop());
  signals.running(() => void stopStarter());

  await worker.run();
  await stopStarter();
  for (const close of opened.reverse()) await close();
  await server?.stop();
  await metricsServer?.close();
  log.info('stopped');
}

main().catch((error: unknown) => {
  // The configured logger may not exist yet; the messages that get here carry no secret.
  createLogger('error', { role: 'connector' }).error('connector failed', { error: (error as Error).message });
  process.exit(EXIT_FAILED);
});
