/**
 * The backlog measurement shared by the backlog, quota, scale-out, ceiling and many-rulesets
 * benchmarks: N YARA indicators are in the stream before the connector's starter first runs (a
 * first run replays from 0-0 with a recover snapshot); the clock runs until VirusTotal holds every
 * ruleset, shared with the configured editors.
 */
import path from 'node:path';
import { fetchTimelines, sample, startSpan, summariseTimelines, type TimelineSummary } from './histories';
import { appendBacklog, type AppendedIndicator } from './indicators';
import { Pipeline, type PipelineOptions } from './pipeline';
import { CpuMeter, memoryOf, RssSampler, waitForQuiet, type CpuWindow, type QuietCheck } from './proc';
import { duplicates, peakRequestsPerSecond, rulesetTimes, summarise, type RequestSummary } from './virustotal';

export interface DrainOptions {
  runDir: string;
  indicators: number;
  vtLatencyMs: number;
  workers?: number;
  vtMaxRequestsPerSecond?: number;
  env?: Record<string, string>;
  devServer?: PipelineOptions['devServer'];
  workerEntry?: PipelineOptions['workerEntry'];
  scrapeMetricsEveryMs?: PipelineOptions['scrapeMetricsEveryMs'];
  /** Histories read to count workflow tasks and time the steps. */
  historySample?: number;
  /** Leave the pipeline running (the many-rulesets benchmark goes on with it). */
  keepRunning?: boolean;
  keepFiles?: boolean;
  log: (line: string) => void;
}

export interface DrainResult {
  indicators: number;
  vtLatencyMs: number;
  workers: number;
  persistence: string;
  /** Starter spawned → last ruleset shared: what a user starting the connector waits. */
  seconds: number;
  rate: number;
  /** First workflow started → last ruleset shared: the drain itself, without the starter's start-up. */
  drainSeconds: number;
  drainRate: number;
  /** Starter spawned → first workflow started (Node start, connect, register, open the stream). */
  startupSeconds: number;
  /** How fast signal-with-start got workflows in (first → last start). */
  startsPerSecond: number;
  /** Last workflow started → last ruleset shared: how far the worker side lagged behind the starts. */
  tailSeconds: number;
  requests: RequestSummary;
  requestsPerIndicator: number;
  /** Admitted (non-429) requests per second between the first request and the last answer. */
  admittedPerSecond: number;
  peakAdmittedPerSecond: number;
  /** The most requests (429s included) that arrived within one second: the connector's bursts. */
  peakOfferedPerSecond: number;
  missing: number;
  duplicates: number;
  /** VmRSS of each worker once it polls, before any work (the workflow bundle is built by then). */
  readyRssMb: Record<string, number>;
  peakRssMb: Record<string, number>;
  cpu: CpuWindow;
  /** How busy the machine was just before the run, and how long the run waited for it to calm down. */
  quiet: QuietCheck;
  timelines: TimelineSummary;
  warnings: number;
  firstWarnings: string[];
}

export async function waitUntil(
  what: string,
  probe: () => boolean,
  options: { everyMs: number; stallMs: number; progress?: () => number },
): Promise<void> {
  let lastProgress = options.progress?.() ?? 0;
  let lastMoved = Date.now();
  for (;;) {
    if (probe()) return;
    const progress = options.progress?.() ?? 0;
    if (progress !== lastProgress) {
      lastProgress = progress;
      lastMoved = Date.now();
    } else if (Date.now() - lastMoved > options.stallMs) {
      throw new Error(`${what}: no progress for ${options.stallMs / 1000} s (at ${progress})`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.everyMs));
  }
}

/** How many of the named rulesets exist and are shared with both configured editors. */
export function sharedCount(pipeline: Pipeline, names: ReadonlySet<string>): number {
  return pipeline.vt.rulesets().filter((ruleset) => names.has(ruleset.name) && ruleset.editors.length >= 2).length;
}

export interface RunningDrain {
  result: DrainResult;
  pipeline: Pipeline;
  backlog: AppendedIndicator[];
}

export async function drainBacklog(options: DrainOptions): Promise<RunningDrain> {
  const pipelineOptions: PipelineOptions = {
    runDir: options.runDir,
    workers: options.workers ?? 1,
    vtLatencyMs: options.vtLatencyMs,
    vtMaxRequestsPerSecond: options.vtMaxRequestsPerSecond,
    env: options.env,
    devServer: options.devServer,
    workerEntry: options.workerEntry,
    scrapeMetricsEveryMs: options.scrapeMetricsEveryMs,
  };
  const pipeline = await Pipeline.start(pipelineOptions);
  let failed = true;
  try {
    const backlog = appendBacklog(pipeline.opencti, 'Bench_Backlog', options.indicators);
    const names = new Set(backlog.map((indicator) => indicator.name));
    const readyRssMb = Object.fromEntries(
      Object.entries(pipeline.pids()).flatMap(([name, pid]) => {
        const memory = memoryOf(pid);
        return memory && name.startsWith('worker') ? [[name, memory.rssMb]] : [];
      }),
    );
    const quiet = await waitForQuiet();
    if (!quiet.quiet)
      options.log(
        `    the machine stayed busy (${quiet.busyCores.toFixed(2)} cores) for ${(quiet.waitedMs / 1000).toFixed(0)} s; measuring anyway`,
      );
    await pipeline.startStarter();
    const spawnedAt = pipeline.starterSpawnedAt!;
    const pids = pipeline.pids();
    const cpu = new CpuMeter(pids).start();
    const rss = new RssSampler(pids);
    const pollMs = options.indicators > 3000 ? 1000 : 250;
    let shared = 0;
    let lastReport = Date.now();
    await waitUntil(
      `draining ${options.indicators} indicators`,
      () => {
        shared = sharedCount(pipeline, names);
        if (Date.now() - lastReport > 15_000) {
          lastReport = Date.now();
          options.log(`    ${shared}/${options.indicators} rulesets shared after ${((Date.now() - spawnedAt) / 1000).toFixed(0)} s`);
        }
        return shared >= options.indicators;
      },
      { everyMs: pollMs, stallMs: 180_000, progress: () => shared },
    );
    const cpuWindow = cpu.stop();
    const peakRssMb = rss.peaks();
    rss.stop();
    // The emulator logs a request once its latency has passed; the store changes before that.
    await new Promise((resolve) => setTimeout(resolve, options.vtLatencyMs + 250));

    const requests = pipeline.vt.requests();
    const summary = summarise(requests, options.vtLatencyMs);
    const times = rulesetTimes(pipeline.vt, requests, options.vtLatencyMs);
    const sharedTimes = backlog.map((indicator) => times.get(indicator.name)?.sharedAt).filter((at): at is number => at !== undefined);
    const lastShared = Math.max(...sharedTimes);
    const span = await startSpan(pipeline.temporal.client);
    const timelines = summariseTimelines(
      await fetchTimelines(
        pipeline.temporal.client,
        sample(backlog, options.historySample ?? 100).map((i) => i.workflowId),
      ),
    );
    const seconds = (lastShared - spawnedAt) / 1000;
    const drainSeconds = (lastShared - span.firstStartMs) / 1000;
    const activeSeconds = Math.max(0.001, ((summary.lastAnsweredAt ?? lastShared) - (summary.firstAt ?? span.firstStartMs)) / 1000);
    const warnings = pipeline.problems();
    const result: DrainResult = {
      indicators: options.indicators,
      vtLatencyMs: options.vtLatencyMs,
      workers: options.workers ?? 1,
      persistence: pipeline.temporal.persistence,
      seconds,
      rate: options.indicators / seconds,
      drainSeconds,
      drainRate: options.indicators / drainSeconds,
      startupSeconds: (span.firstStartMs - spawnedAt) / 1000,
      startsPerSecond: span.startsPerSecond,
      tailSeconds: (lastShared - span.lastStartMs) / 1000,
      requests: summary,
      requestsPerIndicator: summary.total / options.indicators,
      admittedPerSecond: summary.admitted / activeSeconds,
      peakAdmittedPerSecond: peakRequestsPerSecond(requests),
      peakOfferedPerSecond: peakRequestsPerSecond(requests, true),
      missing: options.indicators - sharedTimes.length,
      duplicates: duplicates(pipeline.vt),
      readyRssMb,
      peakRssMb,
      cpu: cpuWindow,
      quiet,
      timelines,
      warnings: warnings.length,
      firstWarnings: warnings.slice(0, 5),
    };
    failed = false;
    if (!options.keepRunning) await pipeline.stop(options.keepFiles);
    return { result, pipeline, backlog };
  } finally {
    if (failed) {
      options.log(`    run failed; logs kept in ${path.relative(process.cwd(), options.runDir)}`);
      await pipeline.stop(true);
    }
  }
}
