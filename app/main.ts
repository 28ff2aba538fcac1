/**
 * `npm start`: worker and starter in one process. With TEMPORAL_ADDRESS unset it first starts an
 * embedded Temporal dev server (state kept under CONNECTOR_DATA_DIR) and prints its Web UI.
 */
import { loadOrExit } from '../config';
import { createLogger } from '../common/logger';
import { logStartupNotes } from '../common/startup';
import { connectClient, connectWorker } from '../temporal/connection';
import { startStarter } from '../starter/run';
import { createWorker } from '../worker/run';
import { startEmbeddedTemporal } from './embedded-temporal';

async function main(): Promise<void> {
  const config = loadOrExit('all');
  const log = createLogger(config.logLevel, { role: 'connector' });
  logStartupNotes(config, log);
  const server = config.temporal.address ? undefined : await startEmbeddedTemporal(config.temporal, log);
  const address = config.temporal.address ?? server!.address;
  if (server?.uiUrl) process.stdout.write(`Temporal Web UI: ${server.uiUrl}/namespaces/${config.temporal.namespace}/workflows\n`);

  const { connection, namespace } = await connectWorker(config.temporal, address);
  const client = await connectClient(config.temporal, address);
  const worker = await createWorker({ config, connection, namespace, client, log: log.child({ role: 'worker' }) });
  const starter = await startStarter({ config, client, log: log.child({ role: 'starter' }) });

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
  log.info('stopped');
}

main().catch((error: unknown) => {
  process.stderr.write(`connector failed: ${(error as Error).message}\n`);
  process.exit(1);
});
