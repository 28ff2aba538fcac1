/**
 * Figures, the table printed at the end, and the JSON written beside it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatSpread, round, type Spread } from './stats';

export interface Target {
  /** The figure must be at least (`>=`), at most (`<=`) or under (`<`) this value. */
  op: '>=' | '<=' | '<';
  value: number;
  text: string;
}

export interface Figure {
  benchmark: string;
  name: string;
  unit: string;
  value: Spread;
  digits?: number;
  target?: Target;
  met?: boolean;
  /** Dev server persistence this figure was measured with. */
  persistence: string;
  /** Sizes and settings, e.g. "2000 indicators, VT 100 ms". */
  setup: string;
}

export interface BenchmarkResult {
  benchmark: string;
  figures: Figure[];
  /** Everything measured on the way: per-run results, CPU per process, history breakdowns. */
  details: unknown;
}

export function figure(partial: Omit<Figure, 'met'>): Figure {
  const { target, value } = partial;
  const compare = { '>=': (a: number, b: number) => a >= b, '<=': (a: number, b: number) => a <= b, '<': (a: number, b: number) => a < b };
  // Compared as printed: 4,001 requests for 2,000 indicators (one listing per worker) is 2.00.
  const shown = round(value.median, partial.digits ?? 1);
  const met = target === undefined || !Number.isFinite(value.median) ? undefined : compare[target.op](shown, target.value);
  return { ...partial, met };
}

export interface Environment {
  startedAt: string;
  command: string;
  machine: { cpus: number; cpuModel: string; memoryGb: number; loadAverage: number[]; platform: string };
  versions: { node: string; temporalSdk: string; temporalCli: string };
  /** The connector measured: HEAD, and files changed outside bench/ that are not committed yet. */
  git: { commit: string; uncommitted: string[] };
  devServerPersistence: string;
}

function packageVersion(name: string): string {
  try {
    const file = require.resolve(`${name}/package.json`);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function describeEnvironment(cliPath: string, command: string, persistence: string): Environment {
  let temporalCli = 'unknown';
  try {
    temporalCli = execFileSync(cliPath, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // reported as unknown
  }
  return {
    startedAt: new Date().toISOString(),
    command,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
      platform: `${os.platform()} ${os.release()}`,
    },
    versions: { node: process.version, temporalSdk: packageVersion('@temporalio/worker'), temporalCli },
    git: gitState(),
    devServerPersistence: persistence,
  };
}

function gitState(): Environment['git'] {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: path.resolve(__dirname, '../..'), encoding: 'utf8' }).trimEnd();
  try {
    const uncommitted = git('status', '--porcelain')
      .split('\n')
      .map((line) => line.slice(3))
      .filter((file) => file && !file.startsWith('bench/'));
    return { commit: git('rev-parse', '--short', 'HEAD').trim(), uncommitted };
  } catch {
    return { commit: 'unknown', uncommitted: [] };
  }
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

export function renderTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.benchmark,
    f.name,
    formatSpread(f.value, f.digits ?? 1, f.unit ? ` ${f.unit}` : ''),
    String(f.value.runs.length),
    f.target?.text ?? '',
    f.met === undefined ? '' : f.met ? 'met' : 'MISSED',
    f.setup,
  ]);
  const header = ['benchmark', 'figure', 'median (min–max)', 'runs', 'target', '', 'setup'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => pad(cell, widths[column]!))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

export function writeResults(dir: string, environment: Environment, results: readonly BenchmarkResult[]): { file: string; latest: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = environment.startedAt.replace(/[:.]/g, '-');
  const body = `${JSON.stringify({ environment, figures: results.flatMap((r) => r.figures), benchmarks: results }, null, 2)}\n`;
  const file = path.join(dir, `${stamp}.json`);
  const latest = path.join(dir, 'latest.json');
  writeFileSync(file, body);
  writeFileSync(latest, body);
  return { file, latest };
}
