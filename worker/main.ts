/**
 * `npm run worker`: the worker role alone, as a container runs it. Needs TEMPORAL_ADDRESS.
 */
import { loadOrExit } from '../config';
import { createLogger } from '../common/logger';
import { logStartupNotes } from '../common/startup';
import { connectClient, connectWorker } from '../temporal/connection';
import { createWorker } from './run';

async function main(): Promise<void> {
  const config = loadOrExit('worker');
  const log = createLogger(config.logLevel, { role: 'worker' });
  logStartupNotes(config, log);
  if (!config.temporal.address) {
    log.error('TEMPORAL_ADDRESS is required for npm run worker (npm start runs an embedded server instead)');
    process.exit(78);
  }
  const { connection, namespace } = await connectWorker(config.temporal);
  const client = await connectClient(config.temporal);
  const worker = await createWorker({ config, connection, namespace, log, client });
  log.info('worker polling', { address: config.temporal.address, namespace, taskQueue: config.temporal.taskQueue });
  // Worker.run() installs SIGINT/SIGTERM handlers that drain in-flight tasks before exiting.
  await worker.run();
  await client.connection.close();
  await connection.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`worker failed: ${(error as Error).message}\n`);
  process.exit(1);
});
