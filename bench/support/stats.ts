/**
 * Medians, spreads and percentiles: every figure is a median of runs with its min–max beside it.
 */

export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function spread(values: readonly number[]): Spread {
  const finite = values.filter((value) => Number.isFinite(value));
  return {
    median: median(finite),
    min: finite.length ? Math.min(...finite) : Number.NaN,
    max: finite.length ? Math.max(...finite) : Number.NaN,
    runs: [...values],
  };
}

/** A spread of one property over several run results. */
export function spreadOf<T>(runs: readonly T[], pick: (run: T) => number | undefined): Spread {
  return spread(runs.map(pick).filter((value): value is number => value !== undefined));
}

/** Each named entry of the records, as a spread over the runs. */
export function spreadByName(records: ReadonlyArray<Record<string, number>>): Record<string, Spread> {
  const names = new Set(records.flatMap((record) => Object.keys(record)));
  return Object.fromEntries([...names].map((name) => [name, spreadOf(records, (record) => record[name])]));
}

export function round(value: number, digits = 1): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** "52.3 (49.8–55.0)", or just the value for a single run. */
export function formatSpread(value: Spread, digits = 1, unit = ''): string {
  const fmt = (n: number) => `${Number.isFinite(n) ? n.toFixed(digits) : 'n/a'}${unit}`;
  if (value.runs.length <= 1 || value.min === value.max) return fmt(value.median);
  return `${fmt(value.median)} (${fmt(value.min)}–${fmt(value.max)})`;
}
