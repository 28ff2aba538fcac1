/**
 * 4. Many live rulesets: 10,000 indicators with live rulesets (each an open workflow waiting for
 * its next event or its verify timer), then idle. Worker and dev server RSS at rest, and the
 * latency of one more change at that size: a new indicator, and a pattern change of an existing
 * one (delete and recreate, the default update mode), whose workflow is usually no longer in the
 * worker's cache and has to be replayed.
 */
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { runsOr, type BenchContext } from './support/context';
import { drainBacklog, type DrainResult } from './support/drain';
import { appendIndicator, changePattern } from './support/indicators';
import { waitShared } from './live-latency';
import { memoryOf } from './support/proc';
import { figure, type BenchmarkResult } from './support/report';
import { median, spread, spreadOf } from './support/stats';
import { rulesetTimes } from './support/virustotal';
import { buildWorkflowBundle } from './support/bundle';
import type { Pipeline, PipelineOptions } from './support/pipeline';

interface ManyRun {
  setup: Pick<
    DrainResult,
    'rate' | 'drainRate' | 'seconds' | 'requestsPerIndicator' | 'missing' | 'duplicates' | 'peakRssMb' | 'readyRssMb' | 'cpu' | 'timelines'
  >;
  /** VmRSS after the idle period (median of samples over its last ten seconds). */
  restRssMb: Record<string, number>;
  /** VmRSS after the timed changes. */
  afterChangesRssMb: Record<string, number>;
  dbFileMb: number;
  /** Append → create answered, per change, in ms. */
  newIndicatorMs: number[];
  patternChangeMs: number[];
}

async function sampleRss(pipeline: Pipeline, seconds: number): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = {};
  for (let i = 0; i < seconds; i++) {
    for (const [name, pid] of Object.entries(pipeline.pids())) {
      const memory = memoryOf(pid);
      if (memory) (samples[name] ??= []).push(memory.rssMb);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
}

async function createdAfter(pipeline: Pipeline, name: string, appendedAt: number, latencyMs: number): Promise<number> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const time = rulesetTimes(
      pipeline.vt,
      pipeline.vt.requests().filter((request) => request.at >= appendedAt),
      latencyMs,
    ).get(name);
    if (time?.sharedAt !== undefined) return time.createdAt - appendedAt;
    if (Date.now() > deadline) throw new Error(`the change to ${name} did not reach VirusTotal within 120 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function manyRun(context: BenchContext, label = 'many', workerEntry?: PipelineOptions['workerEntry']): Promise<ManyRun> {
  const { manyIndicators, manySetupLatencyMs, latencyMs, idleS, changes } = context.options;
  const { result, pipeline, backlog } = await drainBacklog({
    runDir: context.runDir(label),
    indicators: manyIndicators,
    vtLatencyMs: manySetupLatencyMs,
    historySample: 50,
    keepRunning: true,
    workerEntry,
    log: context.log,
  });
  try {
    context.log(`    ${manyIndicators} rulesets in ${result.seconds.toFixed(0)} s (${result.rate.toFixed(1)}/s); idle for ${idleS} s`);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, idleS - 10) * 1000));
    const restRssMb = await sampleRss(pipeline, Math.min(10, idleS));
    context.log(
      `    at rest: ${Object.entries(restRssMb)
        .map(([name, mb]) => `${name} ${mb.toFixed(0)} MB`)
        .join(', ')}`,
    );

    pipeline.vt.setLatency(latencyMs);
    pipeline.vt.clearRequests();
    const newIndicatorMs: number[] = [];
    const patternChangeMs: number[] = [];
    for (let i = 0; i < changes; i++) {
      const fresh = appendIndicator(pipeline.opencti, `Bench_More_${i}`);
      newIndicatorMs.push(await createdAfter(pipeline, fresh.name, fresh.appendedAt, latencyMs));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // Spread over the backlog, oldest first: the least likely to be in the worker's cache.
      const existing = backlog[Math.floor((i * backlog.length) / changes)]!;
      const changedAt = changePattern(pipeline.opencti, existing, `changed-${i}`);
      patternChangeMs.push(await createdAfter(pipeline, existing.name, changedAt, latencyMs));
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await waitShared(pipeline, [], latencyMs);
    const afterChangesRssMb = await sampleRss(pipeline, 3);
    let dbFileMb = Number.NaN;
    try {
      dbFileMb = statSync(pipeline.temporal.dbFile).size / 2 ** 20;
    } catch {
      // reported as n/a
    }
    const { rate, drainRate, seconds, requestsPerIndicator, missing, duplicates, peakRssMb, readyRssMb, cpu, timelines } = result;
    return {
      setup: { rate, drainRate, seconds, requestsPerIndicator, missing, duplicates, peakRssMb, readyRssMb, cpu, timelines },
      restRssMb,
      afterChangesRssMb,
      dbFileMb,
      newIndicatorMs,
      patternChangeMs,
    };
  } finally {
    await pipeline.stop(context.options.keepFiles);
  }
}

export async function manyRulesetsBenchmark(context: BenchContext): Promise<BenchmarkResult> {
  const { manyIndicators, manySetupLatencyMs, latencyMs, changes } = context.options;
  const runs: ManyRun[] = [];
  const count = runsOr(context, 1);
  for (let i = 1; i <= count; i++) {
    context.log(
      `  many run ${i}/${count}: ${manyIndicators} indicators (VT ${manySetupLatencyMs} ms while they are created), then ${changes} changes at VT ${latencyMs} ms`,
    );
    const run = await manyRun(context);
    context.log(
      `    new indicator ${run.newIndicatorMs.join(', ')} ms; pattern change ${run.patternChangeMs.join(', ')} ms; SQLite file ${run.dbFileMb.toFixed(0)} MB`,
    );
    runs.push(run);
  }
  const setup = `${manyIndicators} live rulesets, idle`;
  const common = { benchmark: 'many live rulesets', persistence: context.persistence, setup };
  const changeSetup = `${setup}; ${changes} changes per run, VT ${latencyMs} ms`;
  const figures = [
    figure({
      ...common,
      name: 'worker RSS at rest',
      unit: 'MB',
      digits: 0,
      value: spreadOf(runs, (r) => r.restRssMb.worker),
      target: { op: '<', value: 400, text: '< 400 MB' },
    }),
    figure({ ...common, name: 'dev server RSS at rest', unit: 'MB', digits: 0, value: spreadOf(runs, (r) => r.restRssMb.devServer) }),
    figure({ ...common, name: 'starter RSS at rest', unit: 'MB', digits: 0, value: spreadOf(runs, (r) => r.restRssMb.starter) }),
    figure({
      ...common,
      setup: changeSetup,
      name: 'one more indicator → ruleset exists',
      unit: 'ms',
      digits: 0,
      value: spread(runs.flatMap((r) => r.newIndicatorMs)),
    }),
    figure({
      ...common,
      setup: changeSetup,
      name: 'pattern change → new ruleset exists',
      unit: 'ms',
      digits: 0,
      value: spread(runs.flatMap((r) => r.patternChangeMs)),
    }),
    figure({
      ...common,
      name: 'worker RSS once polling, before any work',
      unit: 'MB',
      digits: 0,
      value: spreadOf(runs, (r) => r.setup.readyRssMb.worker),
    }),
  ];
  const details: Record<string, unknown> = { runs };
  if (context.options.diagnose) {
    // The workflow bundle built beforehand (webpack never runs in the worker, so its memory is
    // never taken), applied from outside by support/variant-worker.ts.
    const bundleDir = context.runDir('workflow-bundle');
    mkdirSync(bundleDir, { recursive: true });
    const bundle = buildWorkflowBundle(path.join(bundleDir, 'workflow-bundle.js'));
    const variant = 'workflow bundle built beforehand';
    context.log(`  many run with the worker variant: ${variant}`);
    const tuned = await manyRun(context, 'many-worker-variant', {
      entry: path.join('bench', 'support', 'variant-worker.ts'),
      args: ['--bundle', bundle],
    });
    context.log(`    new indicator ${tuned.newIndicatorMs.join(', ')} ms; pattern change ${tuned.patternChangeMs.join(', ')} ms`);
    const diagnostic = { ...common, setup: `${setup}, diagnostic: ${variant}` };
    figures.push(
      figure({
        ...diagnostic,
        name: 'worker RSS once polling, pre-built bundle',
        unit: 'MB',
        digits: 0,
        value: spread([tuned.setup.readyRssMb.worker ?? Number.NaN]),
      }),
      figure({
        ...diagnostic,
        name: 'worker RSS at rest, pre-built bundle',
        unit: 'MB',
        digits: 0,
        value: spread([tuned.restRssMb.worker ?? Number.NaN]),
      }),
      figure({
        ...diagnostic,
        name: 'pattern change → new ruleset, pre-built bundle',
        unit: 'ms',
        digits: 0,
        value: spread(tuned.patternChangeMs),
      }),
      figure({ ...diagnostic, name: 'setup indicators/s, pre-built bundle', unit: '/s', value: spread([tuned.setup.rate]) }),
    );
    details.workerVariant = { variant, ...tuned };
  }
  return { benchmark: 'many', figures, details };
}
