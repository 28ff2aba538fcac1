/**
 * What every benchmark receives: its options, where to put its run directories, how to log.
 */
import path from 'node:path';

export interface BenchOptions {
  /** Runs per measured configuration (each figure is the median over them). */
  runs?: number;
  /** Backlog size for backlog, scale-out and ceiling. */
  indicators: number;
  /** VirusTotal latency for backlog, live latency and quota. */
  latencyMs: number;
  /** Live latency: indicators per second and how long. */
  livePerSecond: number;
  durationS: number;
  quotaIndicators: number;
  quotaRps: number;
  manyIndicators: number;
  /** VirusTotal latency while the many-rulesets backlog is created (the change itself uses latencyMs). */
  manySetupLatencyMs: number;
  idleS: number;
  changes: number;
  scaleLatencyMs: number;
  keepFiles: boolean;
  /** Also run the diagnostic variants that locate a missed target (WAL dev server, other budgets...). */
  diagnose: boolean;
  /** Every role exposes its Prometheus metrics and is scraped every 5 s (drain benchmarks): what metrics cost. */
  metrics: boolean;
}

export interface BenchContext {
  options: BenchOptions;
  log(line: string): void;
  /** A fresh directory for one run (SQLite file, logs); removed after the run unless kept. */
  runDir(name: string): string;
  persistence: string;
}

export function createContext(options: BenchOptions, root: string, persistence: string): BenchContext {
  let counter = 0;
  return {
    options,
    persistence,
    log: (line) => process.stdout.write(`${line}\n`),
    runDir: (name) => path.join(root, `${String(++counter).padStart(2, '0')}-${name}`),
  };
}

export function runsOr(context: BenchContext, fallback: number): number {
  return context.options.runs ?? fallback;
}
