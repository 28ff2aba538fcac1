/**
 * The ceiling's worker, a process of its own like the connector's worker:
 * `node --import tsx bench/ceiling/worker.ts <temporal address> <task queue> [activities per second]`.
 * Reports its completed activities to the benchmark over the IPC channel.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createCeilingActivities, type CompletionCounter } from './activities';

export interface CeilingProgress {
  ready?: boolean;
  completed: number;
  lastCompletedAt: number;
}

async function main(): Promise<void> {
  const [address, taskQueue, activitiesPerSecond] = process.argv.slice(2);
  if (!address || !taskQueue) throw new Error('usage: worker.ts <temporal address> <task queue> [activities per second]');
  const counter: CompletionCounter = { completed: 0, lastCompletedAt: 0 };
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('./workflows'),
    activities: createCeilingActivities(counter),
    // The connector's worker settings (worker/run.ts with the default configuration).
    maxConcurrentActivityTaskExecutions: 100,
    shutdownGraceTime: '10 seconds',
    // What VIRUSTOTAL_LIVEHUNT_MAX_REQUESTS_PER_SECOND sets on the connector's worker.
    ...(activitiesPerSecond ? { maxTaskQueueActivitiesPerSecond: Number(activitiesPerSecond) } : {}),
  });
  let reported = -1;
  const report = (ready = false) => {
    if (!ready && counter.completed === reported) return;
    reported = counter.completed;
    process.send?.({ ready, completed: counter.completed, lastCompletedAt: counter.lastCompletedAt } satisfies CeilingProgress);
  };
  const timer = setInterval(() => report(), 50);
  process.on('disconnect', () => worker.shutdown());
  const running = worker.run();
  report(true);
  await running;
  clearInterval(timer);
  await connection.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`ceiling worker failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
