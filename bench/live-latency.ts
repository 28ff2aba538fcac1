/**
 * 2. Live latency: with the connector running and caught up, YARA indicators enter the stream one
 * by one at a steady rate (5/s for 60 s). For each, the time from the event entering the stream
 * (the emulator's event id) to VirusTotal answering the ruleset's create (it exists), and to the
 * editors request being answered (it is shared). Histories split the time into its steps.
 */
import { runsOr, type BenchContext } from './support/context';
import { sharedCount, waitUntil } from './support/drain';
import { fetchTimelines, type HistoryTimeline } from './support/histories';
import { appendIndicator, type AppendedIndicator } from './support/indicators';
import { Pipeline } from './support/pipeline';
import { CpuMeter, RssSampler, waitForQuiet, type CpuWindow, type QuietCheck } from './support/proc';
import { figure, type BenchmarkResult } from './support/report';
import { percentile, spreadByName, spreadOf } from './support/stats';
import { rulesetTimes } from './support/virustotal';

const WARM_UP = 10;

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function percentiles(values: readonly number[]): Percentiles {
  return {
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: values.length ? Math.max(...values) : Number.NaN,
  };
}

interface LiveRun {
  indicators: number;
  /** Append → create answered (the ruleset exists in VirusTotal). */
  createdMs: Percentiles;
  /** Append → editors answered (the ruleset is shared). */
  sharedMs: Percentiles;
  /** How late the harness appended compared with the steady schedule. */
  scheduleSlipMs: Percentiles;
  /** Where the time went, p50/p95 of each step in ms. */
  steps: Record<string, Percentiles>;
  cpu: CpuWindow;
  quiet: QuietCheck;
  peakRssMb: Record<string, number>;
  warnings: number;
}

/** Appends indicators at a steady rate; returns them once all are appended. */
export async function appendSteadily(
  pipeline: Pipeline,
  prefix: string,
  perSecond: number,
  count: number,
  slips: number[] = [],
): Promise<AppendedIndicator[]> {
  const appended: AppendedIndicator[] = [];
  const start = Date.now() + 50;
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    slips.push(Math.max(0, Date.now() - due));
    appended.push(appendIndicator(pipeline.opencti, `${prefix}_${String(i).padStart(5, '0')}`));
  }
  return appended;
}

export async function waitShared(pipeline: Pipeline, indicators: readonly AppendedIndicator[], latencyMs: number): Promise<void> {
  const names = new Set(indicators.map((indicator) => indicator.name));
  let shared = 0;
  await waitUntil(`${indicators.length} rulesets`, () => (shared = sharedCount(pipeline, names)) >= names.size, {
    everyMs: 100,
    stallMs: 120_000,
    progress: () => shared,
  });
  await new Promise((resolve) => setTimeout(resolve, latencyMs + 250));
}

function steps(indicators: readonly AppendedIndicator[], lines: readonly HistoryTimeline[]): Record<string, Percentiles> {
  const byId = new Map(lines.map((line) => [line.workflowId, line]));
  const pick = (value: (line: HistoryTimeline, indicator: AppendedIndicator) => number | undefined) =>
    percentiles(
      indicators
        .map((indicator) => {
          const line = byId.get(indicator.workflowId);
          return line ? value(line, indicator) : undefined;
        })
        .filter((v): v is number => v !== undefined && Number.isFinite(v)),
    );
  return {
    streamAndSignal: pick((line, indicator) => line.startedAt - indicator.appendedAt),
    firstTaskWait: pick((line) => line.firstTaskWait),
    firstTaskRun: pick((line) => line.firstTaskRun),
    activityWait: pick((line) => line.activityWait),
    activityRun: pick((line) => line.activityRun),
  };
}

async function liveRun(context: BenchContext): Promise<LiveRun> {
  const { latencyMs, livePerSecond, durationS } = context.options;
  const runDir = context.runDir('live');
  const pipeline = await Pipeline.start({ runDir, vtLatencyMs: latencyMs });
  let failed = true;
  try {
    const starter = await pipeline.startStarter();
    await starter.waitForLog(/"message":"connector registered"/);
    await waitUntil('the starter to open the stream', () => pipeline.opencti.connections() > 0, { everyMs: 50, stallMs: 60_000 });
    // Warm up: the first workflows pay for lazy initialisation in every process.
    await waitShared(pipeline, await appendSteadily(pipeline, 'Bench_Warmup', livePerSecond, WARM_UP), latencyMs);

    const quiet = await waitForQuiet();
    const pids = pipeline.pids();
    const cpu = new CpuMeter(pids).start();
    const rss = new RssSampler(pids);
    const slips: number[] = [];
    const indicators = await appendSteadily(pipeline, 'Bench_Live', livePerSecond, livePerSecond * durationS, slips);
    await waitShared(pipeline, indicators, latencyMs);
    const cpuWindow = cpu.stop();
    const peakRssMb = rss.peaks();
    rss.stop();

    const times = rulesetTimes(pipeline.vt, pipeline.vt.requests(), latencyMs);
    const created: number[] = [];
    const shared: number[] = [];
    for (const indicator of indicators) {
      const time = times.get(indicator.name);
      if (!time) continue;
      created.push(time.createdAt - indicator.appendedAt);
      if (time.sharedAt !== undefined) shared.push(time.sharedAt - indicator.appendedAt);
    }
    const lines = await fetchTimelines(
      pipeline.temporal.client,
      indicators.map((indicator) => indicator.workflowId),
    );
    const run: LiveRun = {
      indicators: indicators.length,
      createdMs: percentiles(created),
      sharedMs: percentiles(shared),
      scheduleSlipMs: percentiles(slips),
      steps: steps(indicators, lines),
      cpu: cpuWindow,
      quiet,
      peakRssMb,
      warnings: pipeline.problems().length,
    };
    failed = false;
    await pipeline.stop(context.options.keepFiles);
    return run;
  } finally {
    if (failed) {
      context.log(`    run failed; logs kept in ${runDir}`);
      await pipeline.stop(true);
    }
  }
}

export async function liveLatencyBenchmark(context: BenchContext): Promise<BenchmarkResult> {
  const { latencyMs, livePerSecond, durationS } = context.options;
  const runs: LiveRun[] = [];
  const count = runsOr(context, 1);
  for (let i = 1; i <= count; i++) {
    context.log(`  live run ${i}/${count}: ${livePerSecond}/s for ${durationS} s, VT ${latencyMs} ms`);
    const run = await liveRun(context);
    const step = Object.entries(run.steps)
      .map(([name, p]) => `${name} ${p.p50}/${p.p95}`)
      .join(', ');
    context.log(
      `    created p50 ${run.createdMs.p50} ms, p95 ${run.createdMs.p95} ms, p99 ${run.createdMs.p99} ms (shared p50 ${run.sharedMs.p50} ms); steps p50/p95 ms: ${step}`,
    );
    runs.push(run);
  }
  const setup = `${livePerSecond}/s for ${durationS} s, VT ${latencyMs} ms`;
  const common = { benchmark: 'live latency', persistence: context.persistence, setup, unit: 'ms', digits: 0 };
  return {
    benchmark: 'live',
    figures: [
      figure({
        ...common,
        name: 'p50 append → ruleset exists',
        value: spreadOf(runs, (r) => r.createdMs.p50),
        target: { op: '<', value: 400, text: '< 400 ms' },
      }),
      figure({ ...common, name: 'p95 append → ruleset exists', value: spreadOf(runs, (r) => r.createdMs.p95) }),
      figure({
        ...common,
        name: 'p99 append → ruleset exists',
        value: spreadOf(runs, (r) => r.createdMs.p99),
        target: { op: '<', value: 1000, text: '< 1 s' },
      }),
      figure({ ...common, name: 'p50 append → ruleset shared', value: spreadOf(runs, (r) => r.sharedMs.p50) }),
    ],
    details: { runs, cpuCores: spreadByName(runs.map((r) => ({ ...r.cpu.cores, others: r.cpu.otherCores }))) },
  };
}
