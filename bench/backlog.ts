/**
 * 1. Backlog: N YARA indicators are in the stream before the connector starts; VirusTotal
 * answers after 100 ms. Indicators per second until VirusTotal holds (and shares) all of them,
 * requests per indicator, peak RSS of the worker, the starter and the dev server.
 */
import { runsOr, type BenchContext } from './support/context';
import { drainBacklog, type DrainOptions, type DrainResult } from './support/drain';
import { describeDevServer, NO_EAGER_ACTIVITIES, ROLLBACK_JOURNAL, type DevServerVariant } from './support/pipeline';
import { figure, type BenchmarkResult } from './support/report';
import { spreadByName, spreadOf } from './support/stats';

export type DrainSettings = Pick<
  DrainOptions,
  'indicators' | 'vtLatencyMs' | 'workers' | 'vtMaxRequestsPerSecond' | 'env' | 'devServer' | 'workerEntry'
>;

export async function runDrains(context: BenchContext, label: string, count: number, settings: DrainSettings): Promise<DrainResult[]> {
  const results: DrainResult[] = [];
  for (let run = 1; run <= count; run++) {
    const extra = [
      settings.env
        ? Object.entries(settings.env)
            .map(([key, value]) => `${key}=${value}`)
            .join(' ')
        : '',
      settings.devServer ? `dev server ${describeDevServer(settings.devServer)}` : '',
      context.options.metrics ? 'metrics exposed and scraped every 5 s' : '',
    ]
      .filter(Boolean)
      .join('; ');
    context.log(
      `  ${label} run ${run}/${count}: ${settings.indicators} indicators, VT ${settings.vtLatencyMs} ms, ${settings.workers ?? 1} worker(s)${extra ? `; ${extra}` : ''}`,
    );
    const { result } = await drainBacklog({
      ...settings,
      scrapeMetricsEveryMs: context.options.metrics ? 5_000 : undefined,
      runDir: context.runDir(label),
      keepFiles: context.options.keepFiles,
      log: context.log,
    });
    context.log(
      `    ${result.rate.toFixed(1)} indicators/s from the starter's spawn (${result.drainRate.toFixed(1)}/s from the first workflow start), ${result.requestsPerIndicator.toFixed(2)} requests/indicator, starts ${result.startsPerSecond.toFixed(0)}/s, CPU ${describeCpu(result)}`,
    );
    results.push(result);
  }
  return results;
}

export function describeCpu(result: DrainResult): string {
  const parts = Object.entries(result.cpu.cores).map(([name, cores]) => `${name} ${cores.toFixed(2)}`);
  return `${parts.join(', ')}, others ${result.cpu.otherCores.toFixed(2)} (cores)`;
}

/** Per-run figures worth keeping in the JSON, without the bulky parts. */
export function drainDetails(results: readonly DrainResult[]) {
  return {
    runs: results,
    rate: spreadOf(results, (r) => r.rate),
    drainRate: spreadOf(results, (r) => r.drainRate),
    startupSeconds: spreadOf(results, (r) => r.startupSeconds),
    startsPerSecond: spreadOf(results, (r) => r.startsPerSecond),
    tailSeconds: spreadOf(results, (r) => r.tailSeconds),
    cpuCores: spreadByName(results.map((r) => ({ ...r.cpu.cores, others: r.cpu.otherCores, machine: r.cpu.machineCores }))),
    peakRssMb: spreadByName(results.map((r) => r.peakRssMb)),
  };
}

export async function backlogBenchmark(context: BenchContext): Promise<BenchmarkResult> {
  const { indicators, latencyMs, diagnose } = context.options;
  const results = await runDrains(context, 'backlog', runsOr(context, 3), { indicators, vtLatencyMs: latencyMs });
  const setup = `${indicators} indicators, VT ${latencyMs} ms, 1 worker`;
  const common = { benchmark: 'backlog', persistence: context.persistence, setup };
  const peaks = spreadByName(results.map((r) => r.peakRssMb));
  const rss = (name: string, label: string) =>
    figure({ ...common, name: `peak RSS ${label}`, unit: 'MB', digits: 0, value: peaks[name] ?? spreadOf([], () => 0) });
  const figures = [
    figure({
      ...common,
      name: 'indicators/s',
      unit: '/s',
      value: spreadOf(results, (r) => r.rate),
      target: { op: '>=', value: 50, text: '≥ 50 /s' },
    }),
    figure({
      ...common,
      name: 'VT requests/indicator',
      unit: '',
      digits: 2,
      value: spreadOf(results, (r) => r.requestsPerIndicator),
      target: { op: '<=', value: 2, text: '≤ 2 (create + editors)' },
    }),
    rss('worker', 'worker'),
    rss('starter', 'starter'),
    rss('devServer', 'dev server'),
  ];
  const details: Record<string, unknown> = { ...drainDetails(results), requestsByKind: results.map((r) => r.requests.byKind) };
  if (diagnose) {
    // The dev server as `npm start` ran it before: the CLI's journal, and no eager activities.
    const variants: Array<{ name: string; devServer: DevServerVariant }> = [
      { name: 'indicators/s, CLI default journal', devServer: { sqlitePragmas: ROLLBACK_JOURNAL } },
      { name: 'indicators/s, no eager activities', devServer: { dynamicConfig: NO_EAGER_ACTIVITIES } },
    ];
    for (const { name, devServer } of variants) {
      const runs = await runDrains(context, 'backlog-dev-server-variant', 1, { indicators, vtLatencyMs: latencyMs, devServer });
      const persistence = describeDevServer(devServer);
      figures.push(
        figure({ ...common, persistence, setup: `${setup}, diagnostic`, name, unit: '/s', value: spreadOf(runs, (r) => r.rate) }),
      );
      details[persistence] = drainDetails(runs);
    }
  }
  return { benchmark: 'backlog', figures, details };
}
