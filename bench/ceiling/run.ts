/**
 * One ceiling run: a fresh dev server (persisted like the connector's), the ceiling worker as a
 * process of its own, and signal-with-start from this process with the starter's default number
 * of signals in flight (CONNECTOR_MAX_IN_FLIGHT_EVENTS = 64). The clock runs from the first
 * signal to the last no-op activity.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fetchTimelines, sample, summariseTimelines, type TimelineSummary } from '../support/histories';
import { yaraPattern } from '../support/indicators';
import { removeRunDir, startBenchTemporal, TASK_QUEUE, type DevServerVariant } from '../support/pipeline';
import { CpuMeter, RssSampler, waitForQuiet, type CpuWindow, type QuietCheck } from '../support/proc';
import { ChildRole } from '../support/roles';
import { percentile } from '../support/stats';
import { CEILING_WORKFLOW_TYPE, ceilingEventSignal, type CeilingWorkflowInput } from './definitions';
import type { CeilingProgress } from './worker';

export interface CeilingOptions {
  runDir: string;
  indicators: number;
  /** Diagnostic only: a dev server unlike npm start's. */
  devServer?: DevServerVariant;
  searchAttributes: boolean;
  /** The task queue's activities-per-second limit, as the connector sets it from its VirusTotal budget. */
  activitiesPerSecond?: number;
  inFlight?: number;
  keepFiles: boolean;
}

export interface CeilingRun {
  indicators: number;
  activitiesPerSecond?: number;
  /** Activities completed per second between the first and the last activity. */
  activityRate: number;
  persistence: string;
  searchAttributes: boolean;
  seconds: number;
  rate: number;
  /** How fast signal-with-start calls completed (first call → last answer). */
  signalsPerSecond: number;
  signalWithStartMs: { p50: number; p95: number; p99: number };
  peakRssMb: Record<string, number>;
  cpu: CpuWindow;
  quiet: QuietCheck;
  timelines: TimelineSummary;
}

export async function runCeiling(options: CeilingOptions): Promise<CeilingRun> {
  const temporal = await startBenchTemporal(options.runDir, options.devServer);
  const worker = ChildRole.start(
    'ceiling-worker',
    path.join('bench', 'ceiling', 'worker.ts'),
    {},
    path.join(options.runDir, 'ceiling-worker.log'),
    [temporal.server.address, TASK_QUEUE, ...(options.activitiesPerSecond ? [String(options.activitiesPerSecond)] : [])],
    true,
  );
  let progress: CeilingProgress = { completed: 0, lastCompletedAt: 0 };
  let firstCompletedAt: number | undefined;
  let ready = false;
  worker.child.on('message', (message: CeilingProgress) => {
    if (message.ready) ready = true;
    if (message.completed > 0) firstCompletedAt ??= message.lastCompletedAt;
    progress = message;
  });
  let failed = true;
  try {
    const deadline = Date.now() + 120_000;
    while (!ready) {
      if (!worker.running() || Date.now() > deadline) throw new Error(`the ceiling worker did not start:\n${worker.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const quiet = await waitForQuiet();
    const pids = { devServer: temporal.server.pid, worker: worker.pid, bench: process.pid };
    const cpu = new CpuMeter(pids).start();
    const rss = new RssSampler(pids);
    const ids = Array.from({ length: options.indicators }, () => randomUUID());
    const latencies: number[] = [];
    const firstSignalAt = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: options.inFlight ?? 64 }, async () => {
        while (next < ids.length) {
          const index = next++;
          const internalId = ids[index]!;
          const name = `Bench_Ceiling_${String(index).padStart(5, '0')}`;
          const args: [CeilingWorkflowInput] = [{ internalId, searchAttributes: options.searchAttributes }];
          const started = Date.now();
          await temporal.client.workflow.signalWithStart(CEILING_WORKFLOW_TYPE, {
            workflowId: `livehunt-indicator-${internalId}`,
            taskQueue: TASK_QUEUE,
            args,
            signal: ceilingEventSignal,
            signalArgs: [
              {
                kind: 'upsert',
                streamId: `${started}-${index}`,
                source: 'create',
                indicator: {
                  internalId,
                  stixId: `indicator--${internalId}`,
                  name,
                  pattern: yaraPattern(name, `bench-${name}`),
                  detection: true,
                  revoked: false,
                },
              },
            ],
          });
          latencies.push(Date.now() - started);
        }
      }),
    );
    const lastSignalAt = Date.now();
    let lastCount = 0;
    let lastMoved = Date.now();
    while (progress.completed < options.indicators) {
      if (progress.completed !== lastCount) {
        lastCount = progress.completed;
        lastMoved = Date.now();
      } else if (Date.now() - lastMoved > 120_000)
        throw new Error(`the ceiling stalled at ${progress.completed}/${options.indicators}:\n${worker.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const cpuWindow = cpu.stop();
    const peakRssMb = rss.peaks();
    rss.stop();
    const seconds = (progress.lastCompletedAt - firstSignalAt) / 1000;
    const timelines = summariseTimelines(
      await fetchTimelines(
        temporal.client,
        sample(ids, 100).map((id) => `livehunt-indicator-${id}`),
      ),
    );
    failed = false;
    return {
      indicators: options.indicators,
      activitiesPerSecond: options.activitiesPerSecond,
      activityRate: ((options.indicators - 1) * 1000) / Math.max(1, progress.lastCompletedAt - (firstCompletedAt ?? firstSignalAt)),
      persistence: temporal.persistence,
      searchAttributes: options.searchAttributes,
      seconds,
      rate: options.indicators / seconds,
      signalsPerSecond: (options.indicators * 1000) / Math.max(1, lastSignalAt - firstSignalAt),
      signalWithStartMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99) },
      peakRssMb,
      cpu: cpuWindow,
      quiet,
      timelines,
    };
  } finally {
    await worker.stop();
    await temporal.client.connection.close().catch(() => undefined);
    await temporal.server.stop();
    if (!failed && !options.keepFiles) removeRunDir(options.runDir);
  }
}
