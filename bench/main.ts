/**
 * `npm run bench [-- --only backlog,live ...]`: the six benchmarks of issue 5 on the pipeline as
 * users run it. Prints a table and writes the same figures as JSON to bench/results/.
 *
 *   --only LIST            backlog, live, quota, many, scale-out, ceiling (comma-separated)
 *   --runs N               runs per configuration (default: 3 for short runs, fewer for long ones)
 *   --indicators N         backlog size for backlog, scale-out and ceiling (2000)
 *   --latency-ms N         VirusTotal latency for backlog, live and quota (100)
 *   --rate N               live: indicators per second (5)
 *   --duration-s N         live: how long they arrive (60)
 *   --quota-indicators N   quota: backlog size (1000)
 *   --quota-rps N          quota: VirusTotal's and the connector's requests per second (20)
 *   --many-indicators N    many live rulesets: how many (10000)
 *   --many-setup-latency-ms N  VirusTotal latency while those are created (0)
 *   --idle-s N             many live rulesets: idle time before RSS is read (30)
 *   --changes N            many live rulesets: changes timed at that size (5)
 *   --scale-latency-ms N   scale-out: VirusTotal latency (500)
 *   --quick                smaller sizes (500 / 300 / 2000 indicators, 30 s live), for a pass in minutes
 *   --diagnose             also run the diagnostic variants that locate each missed target
 *   --keep                 keep each run's directory (SQLite file, logs)
 *   --metrics              drain benchmarks: every role exposes Prometheus metrics, scraped every 5 s
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { processEnvironment } from '../config';
import { resolveTemporalCli } from '../temporal/cli';
import { backlogBenchmark } from './backlog';
import { ceilingBenchmark } from './ceiling/benchmark';
import { liveLatencyBenchmark } from './live-latency';
import { manyRulesetsBenchmark } from './many-rulesets';
import { quotaBenchmark } from './quota';
import { scaleOutBenchmark } from './scale-out';
import { createContext, type BenchContext, type BenchOptions } from './support/context';
import { describeDevServer } from './support/pipeline';
import { describeEnvironment, renderTable, writeResults, type BenchmarkResult } from './support/report';

const BENCHMARKS: Record<string, (context: BenchContext) => Promise<BenchmarkResult>> = {
  backlog: backlogBenchmark,
  live: liveLatencyBenchmark,
  quota: quotaBenchmark,
  many: manyRulesetsBenchmark,
  'scale-out': scaleOutBenchmark,
  ceiling: ceilingBenchmark,
};
const ALIASES: Record<string, string> = {
  'live-latency': 'live',
  latency: 'live',
  'many-rulesets': 'many',
  scaleout: 'scale-out',
  scale: 'scale-out',
};

const RESULTS_DIR = path.resolve(__dirname, 'results');
const PERSISTENCE = describeDevServer();

function integer(name: string, raw: string | undefined, fallback: number, min = 0): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

function parseOptions(argv: string[]): { only: string[]; options: BenchOptions } {
  const flags = [
    'only',
    'runs',
    'indicators',
    'latency-ms',
    'rate',
    'duration-s',
    'quota-indicators',
    'quota-rps',
    'many-indicators',
    'many-setup-latency-ms',
    'idle-s',
    'changes',
    'scale-latency-ms',
  ] as const;
  const { values } = parseArgs({
    args: argv,
    options: {
      ...Object.fromEntries(flags.map((flag) => [flag, { type: 'string' as const }])),
      keep: { type: 'boolean' },
      diagnose: { type: 'boolean' },
      quick: { type: 'boolean' },
      metrics: { type: 'boolean' },
    },
    allowPositionals: false,
  });
  const raw = values as Record<string, string | undefined>;
  const only = (raw.only ?? Object.keys(BENCHMARKS).join(','))
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean)
    .map((name) => ALIASES[name] ?? name);
  const unknown = only.filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(BENCHMARKS).join(', ')}`);
  const quick = Boolean(values.quick);
  const options: BenchOptions = {
    runs: raw.runs === undefined ? undefined : integer('runs', raw.runs, 1, 1),
    indicators: integer('indicators', raw.indicators, quick ? 500 : 2000, 1),
    latencyMs: integer('latency-ms', raw['latency-ms'], 100),
    livePerSecond: integer('rate', raw.rate, 5, 1),
    durationS: integer('duration-s', raw['duration-s'], quick ? 30 : 60, 1),
    quotaIndicators: integer('quota-indicators', raw['quota-indicators'], quick ? 300 : 1000, 1),
    quotaRps: integer('quota-rps', raw['quota-rps'], 20, 1),
    manyIndicators: integer('many-indicators', raw['many-indicators'], quick ? 2000 : 10_000, 1),
    manySetupLatencyMs: integer('many-setup-latency-ms', raw['many-setup-latency-ms'], 0),
    idleS: integer('idle-s', raw['idle-s'], quick ? 15 : 30),
    changes: integer('changes', raw.changes, quick ? 3 : 5, 1),
    scaleLatencyMs: integer('scale-latency-ms', raw['scale-latency-ms'], 500),
    keepFiles: Boolean(values.keep),
    diagnose: Boolean(values.diagnose),
    metrics: Boolean(values.metrics),
  };
  return { only: Object.keys(BENCHMARKS).filter((name) => only.includes(name)), options };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (error) {
    process.stderr.write(
      `${(error as Error).message}\nusage: npm run bench [-- --only backlog,live,quota,many,scale-out,ceiling] [--runs N] [--indicators N] ...\n`,
    );
    process.exit(2);
  }
  const env = processEnvironment();
  const cli = await resolveTemporalCli({ cliPath: env.TEMPORAL_CLI_PATH || undefined, searchPath: env.PATH ?? '' });
  const environment = describeEnvironment(
    cli.path,
    `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
    `${PERSISTENCE}: every run starts a fresh dev server on its own SQLite file, through temporal/dev-server.ts as npm start does`,
  );
  const runRoot = path.join(RESULTS_DIR, 'runs', environment.startedAt.replace(/[:.]/g, '-'));
  mkdirSync(runRoot, { recursive: true });
  const context = createContext(parsed.options, runRoot, PERSISTENCE);
  context.log(
    `${environment.command}\n${environment.machine.cpus} CPUs (${environment.machine.cpuModel}), load ${environment.machine.loadAverage.join(' ')}; Node ${environment.versions.node}, SDK ${environment.versions.temporalSdk}, ${environment.versions.temporalCli}`,
  );
  context.log(
    `connector at ${environment.git.commit}${environment.git.uncommitted.length ? ` plus ${environment.git.uncommitted.length} uncommitted files (listed in the JSON)` : ''}; dev server: ${environment.devServerPersistence}\n`,
  );

  const results: BenchmarkResult[] = [];
  const started = Date.now();
  for (const name of parsed.only) {
    const benchmarkStarted = Date.now();
    context.log(`== ${name}`);
    try {
      results.push(await BENCHMARKS[name]!(context));
    } catch (error) {
      context.log(`  ${name} failed: ${(error as Error).stack ?? String(error)}`);
      results.push({ benchmark: name, figures: [], details: { error: (error as Error).message } });
    }
    context.log(`  (${((Date.now() - benchmarkStarted) / 1000).toFixed(0)} s)\n`);
    // Partial results survive a later failure or Ctrl-C.
    writeResults(RESULTS_DIR, environment, results);
  }
  const written = writeResults(RESULTS_DIR, { ...environment, machine: { ...environment.machine } }, results);
  context.log(renderTable(results.flatMap((result) => result.figures)));
  context.log(
    `\n${environment.machine.cpus} CPUs, Node ${environment.versions.node}, SDK ${environment.versions.temporalSdk}, ${environment.versions.temporalCli}; dev server persistence: ${PERSISTENCE}`,
  );
  context.log(
    `total ${((Date.now() - started) / 60_000).toFixed(1)} min; figures written to ${path.relative(process.cwd(), written.file)} and ${path.relative(process.cwd(), written.latest)}`,
  );
  if (!parsed.options.keepFiles) {
    const { rmSync } = await import('node:fs');
    rmSync(runRoot, { recursive: true, force: true });
  }
  process.exit(results.some((result) => result.figures.length === 0) ? 1 : 0);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
