/**
 * Diagnostic only: the connector's worker exactly as worker/main.ts runs it (same configuration,
 * same createWorker), with one of the changes a report recommends applied from the outside:
 *
 *   --bundle FILE               the workflow bundle built beforehand (createWorker's workflowBundle
 *                               option) instead of webpack running inside the worker process
 *   --max-cached-workflows N    the worker's sticky cache size (Worker.create's maxCachedWorkflows)
 *   --task-queue-activities-per-second N
 *                               the task queue's activity rate limit (maxTaskQueueActivitiesPerSecond)
 *   --pace-rps N                every HTTP request of this process (only VirusTotal's: Temporal
 *                               speaks gRPC) spaced at least 1/N s apart, as a limiter in
 *                               activities/virustotal-client.ts would space them
 *   --memory-log-ms N           log process.memoryUsage() every N ms (V8 heap versus native memory)
 *
 *   node --import tsx bench/support/variant-worker.ts [--bundle FILE] [--max-cached-workflows N]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Worker } from '@temporalio/worker';
import { loadOrExit } from '../../config';
import { createLogger } from '../../common/logger';
import { connectWorker } from '../../temporal/connection';
import { createWorker } from '../../worker/run';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      bundle: { type: 'string' },
      'max-cached-workflows': { type: 'string' },
      'pace-rps': { type: 'string' },
      'memory-log-ms': { type: 'string' },
      'task-queue-activities-per-second': { type: 'string' },
    },
  });
  const paceRps = values['pace-rps'];
  if (paceRps !== undefined) {
    const interval = 1000 / Number(paceRps);
    const fetch = globalThis.fetch;
    let next = 0;
    globalThis.fetch = async (input, init) => {
      const now = Date.now();
      const slot = Math.max(now, next);
      next = slot + interval;
      if (slot > now) await new Promise((resolve) => setTimeout(resolve, slot - now));
      return fetch(input, init);
    };
  }
  const maxCached = values['max-cached-workflows'];
  const activityRate = values['task-queue-activities-per-second'];
  if (maxCached !== undefined || activityRate !== undefined) {
    // Settings worker/run.ts derives itself: wrap Worker.create so that its options are overridden.
    const create = Worker.create.bind(Worker);
    (Worker as { create: typeof Worker.create }).create = (options) =>
      create({
        ...options,
        ...(maxCached !== undefined ? { maxCachedWorkflows: Number(maxCached) } : {}),
        ...(activityRate !== undefined ? { maxTaskQueueActivitiesPerSecond: Number(activityRate) } : {}),
      });
  }
  const config = loadOrExit('worker');
  const log = createLogger(config.logLevel, { role: 'worker' });
  const memoryLogMs = values['memory-log-ms'];
  if (memoryLogMs !== undefined) {
    const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
    const timer = setInterval(() => {
      const usage = process.memoryUsage();
      log.info('memory', {
        rssMb: mb(usage.rss),
        heapUsedMb: mb(usage.heapUsed),
        heapTotalMb: mb(usage.heapTotal),
        externalMb: mb(usage.external),
        arrayBuffersMb: mb(usage.arrayBuffers),
      });
    }, Number(memoryLogMs));
    timer.unref();
  }
  const { connection, namespace } = await connectWorker(config.temporal);
  const workflowBundle = values.bundle ? { code: readFileSync(values.bundle, 'utf8'), sourceMap: '' } : undefined;
  const worker = await createWorker({ config, connection, namespace, log, workflowBundle });
  log.info('worker polling', { address: config.temporal.address, namespace, taskQueue: config.temporal.taskQueue, variant: values });
  await worker.run();
  await connection.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`worker failed: ${(error as Error).message}\n`);
  process.exit(1);
});
