/**
 * 6. Ceiling: the same Temporal work as the connector (signal-with-start per indicator, one local
 * activity, one activity, the search-attribute upsert and the 24 h verify timer) with no-op
 * activities and no stream, on the same dev server persisted the same way (a SQLite file). The
 * figure is the connector's backlog rate with a 0 ms VirusTotal as a share of the ceiling's.
 * With --diagnose, variants say where the ceiling itself goes: without the search-attribute
 * upsert, on an in-memory dev server, with the Temporal CLI's own SQLite journal (a full sync per
 * commit, what `npm start` used before), and with eager activity execution.
 */
import { runDrains, drainDetails } from '../backlog';
import { runsOr, type BenchContext } from '../support/context';
import type { DrainResult } from '../support/drain';
import { describeDevServer, NO_EAGER_ACTIVITIES, ROLLBACK_JOURNAL, type DevServerVariant } from '../support/pipeline';
import { figure, type BenchmarkResult } from '../support/report';
import { spread, spreadByName, spreadOf } from '../support/stats';
import { runCeiling, type CeilingRun } from './run';

async function ceilingRuns(
  context: BenchContext,
  label: string,
  count: number,
  variant: { devServer?: DevServerVariant; searchAttributes: boolean },
): Promise<CeilingRun[]> {
  const runs: CeilingRun[] = [];
  for (let run = 1; run <= count; run++) {
    context.log(
      `  ${label} run ${run}/${count}: ${context.options.indicators} workflows, ${describeDevServer(variant.devServer)}, search attributes ${variant.searchAttributes ? 'on' : 'off'}`,
    );
    const result = await runCeiling({
      runDir: context.runDir(label),
      indicators: context.options.indicators,
      keepFiles: context.options.keepFiles,
      ...variant,
    });
    const cores = Object.entries(result.cpu.cores)
      .map(([name, value]) => `${name} ${value.toFixed(2)}`)
      .join(', ');
    context.log(
      `    ${result.rate.toFixed(1)} workflows/s; signal-with-start ${result.signalsPerSecond.toFixed(0)}/s (p50 ${result.signalWithStartMs.p50} ms); CPU ${cores}, others ${result.cpu.otherCores.toFixed(2)} (cores)`,
    );
    runs.push(result);
  }
  return runs;
}

export function ceilingDetails(runs: readonly CeilingRun[]) {
  return {
    runs,
    rate: spreadOf(runs, (r) => r.rate),
    signalsPerSecond: spreadOf(runs, (r) => r.signalsPerSecond),
    signalWithStartP50Ms: spreadOf(runs, (r) => r.signalWithStartMs.p50),
    cpuCores: spreadByName(runs.map((r) => ({ ...r.cpu.cores, others: r.cpu.otherCores, machine: r.cpu.machineCores }))),
    peakRssMb: spreadByName(runs.map((r) => r.peakRssMb)),
  };
}

export async function ceilingBenchmark(context: BenchContext): Promise<BenchmarkResult> {
  const count = runsOr(context, 2);
  const { indicators, diagnose } = context.options;
  // Alternating, so that the machine's noise falls on both alike.
  const ceiling: CeilingRun[] = [];
  const connector: DrainResult[] = [];
  for (let run = 0; run < count; run++) {
    ceiling.push(...(await ceilingRuns(context, 'ceiling', 1, { searchAttributes: true })));
    connector.push(...(await runDrains(context, 'connector-0ms', 1, { indicators, vtLatencyMs: 0 })));
  }

  const ceilingRate = spreadOf(ceiling, (r) => r.rate);
  // Each connector run against the median ceiling: the spread shows the connector's own noise.
  const share = spread(connector.map((r) => (100 * r.drainRate) / ceilingRate.median));
  const setup = `${indicators} indicators`;
  const common = { benchmark: 'ceiling', persistence: context.persistence };
  const figures = [
    figure({ ...common, name: 'ceiling workflows/s', unit: '/s', value: ceilingRate, setup: `${setup}, no-op activities, no stream` }),
    figure({
      ...common,
      name: 'connector indicators/s, VT 0 ms',
      unit: '/s',
      value: spreadOf(connector, (r) => r.drainRate),
      setup: `${setup}, first workflow start → last ruleset shared`,
    }),
    figure({
      ...common,
      name: 'connector share of ceiling',
      unit: '%',
      digits: 0,
      value: share,
      target: { op: '>=', value: 80, text: '≥ 80 %' },
      setup,
    }),
  ];
  const details: Record<string, unknown> = { ceiling: ceilingDetails(ceiling), connector: drainDetails(connector) };
  if (diagnose) {
    const variants: Array<{ label: string; name: string; devServer?: DevServerVariant; searchAttributes: boolean }> = [
      { label: 'ceiling-no-search-attributes', name: 'ceiling without the search-attribute upsert', searchAttributes: false },
      { label: 'ceiling-in-memory', name: 'ceiling, in-memory dev server', devServer: { persistence: 'memory' }, searchAttributes: true },
      {
        label: 'ceiling-cli-journal',
        name: 'ceiling, CLI default journal',
        devServer: { sqlitePragmas: ROLLBACK_JOURNAL },
        searchAttributes: true,
      },
      {
        label: 'ceiling-no-eager',
        name: 'ceiling, no eager activities',
        devServer: { dynamicConfig: NO_EAGER_ACTIVITIES },
        searchAttributes: true,
      },
    ];
    for (const variant of variants) {
      const runs = await ceilingRuns(context, variant.label, 1, variant);
      figures.push(
        figure({
          ...common,
          persistence: describeDevServer(variant.devServer),
          name: variant.name,
          unit: '/s',
          value: spreadOf(runs, (r) => r.rate),
          setup: `${setup}, diagnostic`,
        }),
      );
      details[variant.label] = ceilingDetails(runs);
    }
    const connectorVariants: Array<{ name: string; devServer: DevServerVariant }> = [
      { name: 'connector VT 0 ms, CLI default journal', devServer: { sqlitePragmas: ROLLBACK_JOURNAL } },
      { name: 'connector VT 0 ms, no eager activities', devServer: { dynamicConfig: NO_EAGER_ACTIVITIES } },
    ];
    for (const { name, devServer } of connectorVariants) {
      const runs = await runDrains(context, 'connector-0ms-variant', 1, { indicators, vtLatencyMs: 0, devServer });
      figures.push(
        figure({
          ...common,
          persistence: describeDevServer(devServer),
          name,
          unit: '/s',
          value: spreadOf(runs, (r) => r.drainRate),
          setup: `${setup}, diagnostic`,
        }),
      );
      details[`connector ${describeDevServer(devServer)}`] = drainDetails(runs);
    }
  }
  return { benchmark: 'ceiling', figures, details };
}
