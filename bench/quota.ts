/**
 * 3. Quota: the emulated VirusTotal admits 20 requests per second per key and answers 429 beyond;
 * the connector is configured with the same budget (VIRUSTOTAL_LIVEHUNT_MAX_REQUESTS_PER_SECOND,
 * which worker/run.ts turns into the task queue's activities-per-second limit). Achieved requests
 * per second while a backlog of 1,000 drains, the share of 429 answers, and whether every ruleset
 * arrived exactly once.
 */
import path from 'node:path';
import { drainDetails, runDrains } from './backlog';
import { runsOr, type BenchContext } from './support/context';
import type { DrainResult } from './support/drain';
import { figure, type BenchmarkResult } from './support/report';
import { spread, spreadOf } from './support/stats';
import { runCeiling } from './ceiling/run';

export function quotaFigures(runs: readonly DrainResult[]) {
  return {
    admittedPerSecond: spreadOf(runs, (r) => r.admittedPerSecond),
    rejectedShare: spreadOf(runs, (r) => (100 * r.requests.rejected429) / Math.max(1, r.requests.total)),
    lost: spreadOf(runs, (r) => r.missing + r.duplicates),
  };
}

export async function quotaBenchmark(context: BenchContext): Promise<BenchmarkResult> {
  const { quotaIndicators, quotaRps, latencyMs } = context.options;
  const settings = {
    indicators: quotaIndicators,
    vtLatencyMs: latencyMs,
    vtMaxRequestsPerSecond: quotaRps,
    env: { VIRUSTOTAL_LIVEHUNT_MAX_REQUESTS_PER_SECOND: String(quotaRps) },
  };
  const runs = await runDrains(context, 'quota', runsOr(context, 2), settings);
  for (const run of runs) {
    context.log(
      `    ${run.admittedPerSecond.toFixed(1)} admitted req/s (peak ${run.peakAdmittedPerSecond} in a 1 s window, ${run.peakOfferedPerSecond} offered), ${run.requests.rejected429}/${run.requests.total} answered 429, ${run.missing} missing, ${run.duplicates} duplicates; requests ${JSON.stringify(run.requests.byKind)}`,
    );
  }
  const measured = quotaFigures(runs);
  const setup = `${quotaIndicators} indicators, VT ${latencyMs} ms, VT and connector ${quotaRps} req/s`;
  const common = { benchmark: 'quota', persistence: context.persistence, setup };
  const figures = [
    figure({ ...common, name: 'achieved req/s (non-429)', unit: 'req/s', value: measured.admittedPerSecond }),
    figure({
      ...common,
      name: 'budget used',
      unit: '%',
      digits: 1,
      value: spreadOf(runs, (r) => (100 * r.admittedPerSecond) / quotaRps),
      target: { op: '>=', value: 90, text: '≥ 90 %' },
    }),
    figure({ ...common, name: '429 answers', unit: '%', value: measured.rejectedShare, target: { op: '<', value: 1, text: '< 1 %' } }),
    figure({
      ...common,
      name: 'rulesets lost or duplicated',
      unit: '',
      digits: 0,
      value: measured.lost,
      target: { op: '<=', value: 0, text: '0' },
    }),
    figure({ ...common, name: 'VT requests/indicator', unit: '', digits: 2, value: spreadOf(runs, (r) => r.requestsPerIndicator) }),
  ];
  const details: Record<string, unknown> = {
    ...drainDetails(runs),
    requestsByKind: runs.map((r) => r.requests.byKind),
    byStatus: runs.map((r) => r.requests.byStatus),
  };
  if (context.options.diagnose) {
    // How closely the dev server's task-queue limit (what the connector's budget becomes) holds
    // its rate, with no-op activities: the budget, and the budget per request of a two-request activity.
    const precision: Array<{ configured: number; achieved: number }> = [];
    for (const configured of [quotaRps, quotaRps / 2]) {
      const indicators = Math.max(50, Math.round(configured * 20));
      context.log(`  task-queue limit ${configured} activities/s, ${indicators} no-op workflows`);
      const run = await runCeiling({
        runDir: context.runDir('quota-task-queue-limit'),
        indicators,
        searchAttributes: true,
        activitiesPerSecond: configured,
        keepFiles: context.options.keepFiles,
      });
      context.log(`    ${run.activityRate.toFixed(2)} activities/s`);
      precision.push({ configured, achieved: run.activityRate });
      figures.push(
        figure({
          ...common,
          setup: `${indicators} no-op workflows, diagnostic`,
          name: `task-queue limit ${configured}/s gives`,
          unit: 'act/s',
          digits: 2,
          value: spread([run.activityRate]),
        }),
      );
    }
    details.taskQueueLimit = precision;

    // The worker spaces its requests under the budget itself (activities/request-pacer.ts); with
    // the task-queue limit at the whole budget instead of the budget per request of an activity,
    // the pacer alone decides how fast requests go.
    const paced = await runDrains(context, 'quota-pacer-binding', 1, {
      ...settings,
      workerEntry: {
        entry: path.join('bench', 'support', 'variant-worker.ts'),
        args: ['--task-queue-activities-per-second', String(quotaRps)],
      },
    });
    for (const run of paced)
      context.log(
        `    ${run.admittedPerSecond.toFixed(1)} admitted req/s (peak ${run.peakOfferedPerSecond} offered in 1 s), ${run.requests.rejected429}/${run.requests.total} answered 429`,
      );
    const measuredPaced = quotaFigures(paced);
    const diagnostic = { ...common, setup: `${setup}, diagnostic: task-queue limit ${quotaRps} activities/s, pacer binding` };
    figures.push(
      figure({
        ...diagnostic,
        name: 'budget used, pacer binding',
        unit: '%',
        digits: 1,
        value: spreadOf(paced, (r) => (100 * r.admittedPerSecond) / quotaRps),
      }),
      figure({ ...diagnostic, name: '429 answers, pacer binding', unit: '%', value: measuredPaced.rejectedShare }),
      figure({ ...diagnostic, name: 'lost or duplicated, pacer binding', unit: '', digits: 0, value: measuredPaced.lost }),
    );
    details.pacerBinding = {
      ...drainDetails(paced),
      requestsByKind: paced.map((r) => r.requests.byKind),
      byStatus: paced.map((r) => r.requests.byStatus),
    };
  }
  return { benchmark: 'quota', figures, details };
}
