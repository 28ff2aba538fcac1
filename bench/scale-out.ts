/**
 * 5. Scale-out: the backlog with VirusTotal at 500 ms per request, drained by one worker process
 * and by two on the same task queue. Runs alternate (one, two, one, two...) so that the machine's
 * noise falls on both alike; the figure is the ratio of the median rates.
 */
import { drainDetails, runDrains } from './backlog';
import { runsOr, type BenchContext } from './support/context';
import type { DrainResult } from './support/drain';
import { figure, type BenchmarkResult } from './support/report';
import { spread, spreadOf } from './support/stats';

/** For --diagnose: activity slots per worker low enough that VirusTotal latency limits each worker. */
const DIAGNOSTIC_SLOTS = 5;

export async function scaleOutBenchmark(context: BenchContext): Promise<BenchmarkResult> {
  const { indicators, scaleLatencyMs } = context.options;
  const count = runsOr(context, 2);
  const one: DrainResult[] = [];
  const two: DrainResult[] = [];
  for (let run = 0; run < count; run++) {
    one.push(...(await runDrains(context, 'scale-out-1-worker', 1, { indicators, vtLatencyMs: scaleLatencyMs, workers: 1 })));
    two.push(...(await runDrains(context, 'scale-out-2-workers', 1, { indicators, vtLatencyMs: scaleLatencyMs, workers: 2 })));
  }
  const oneRate = spreadOf(one, (r) => r.rate);
  const twoRate = spreadOf(two, (r) => r.rate);
  // Ratio of the medians; its spread comes from the pairs of consecutive runs.
  const ratios = two.map((b, i) => b.rate / one[i]!.rate);
  const ratio = { ...spread(ratios), median: twoRate.median / oneRate.median };
  const setup = `${indicators} indicators, VT ${scaleLatencyMs} ms`;
  const common = { benchmark: 'scale-out', persistence: context.persistence, setup };
  const figures = [
    figure({ ...common, name: '1 worker indicators/s', unit: '/s', value: oneRate }),
    figure({ ...common, name: '2 workers indicators/s', unit: '/s', value: twoRate }),
    figure({
      ...common,
      name: '2 workers / 1 worker',
      unit: '×',
      digits: 2,
      value: ratio,
      target: { op: '>=', value: 1.6, text: '≥ 1.6×' },
    }),
  ];
  const details: Record<string, unknown> = { oneWorker: drainDetails(one), twoWorkers: drainDetails(two) };
  if (context.options.diagnose) {
    // Few activity slots per worker make VirusTotal's latency the limit rather than the dev server.
    const env = { TEMPORAL_WORKER_MAX_CONCURRENT_ACTIVITIES: String(DIAGNOSTIC_SLOTS) };
    // A few slots drain slowly: a smaller backlog answers the question in reasonable time.
    const few = Math.min(indicators, 500);
    const oneSlotted = await runDrains(context, 'scale-out-1-worker-slots', 1, {
      indicators: few,
      vtLatencyMs: scaleLatencyMs,
      workers: 1,
      env,
    });
    const twoSlotted = await runDrains(context, 'scale-out-2-workers-slots', 1, {
      indicators: few,
      vtLatencyMs: scaleLatencyMs,
      workers: 2,
      env,
    });
    const a = spreadOf(oneSlotted, (r) => r.rate);
    const b = spreadOf(twoSlotted, (r) => r.rate);
    const diagnostic = {
      ...common,
      setup: `${few} indicators, VT ${scaleLatencyMs} ms, diagnostic: ${DIAGNOSTIC_SLOTS} activity slots per worker`,
    };
    figures.push(
      figure({ ...diagnostic, name: '1 worker indicators/s, few slots', unit: '/s', value: a }),
      figure({ ...diagnostic, name: '2 workers indicators/s, few slots', unit: '/s', value: b }),
      figure({ ...diagnostic, name: '2 workers / 1 worker, few slots', unit: '×', digits: 2, value: spread([b.median / a.median]) }),
    );
    Object.assign(details, { oneWorkerFewSlots: drainDetails(oneSlotted), twoWorkersFewSlots: drainDetails(twoSlotted) });
    // Is one worker held back by replays? A cache large enough for every workflow in flight.
    const cached = await runDrains(context, 'scale-out-1-worker-big-cache', 1, {
      indicators,
      vtLatencyMs: scaleLatencyMs,
      workers: 1,
      env: { TEMPORAL_WORKER_MAX_CACHED_WORKFLOWS: String(indicators) },
    });
    figures.push(
      figure({
        ...common,
        setup: `${setup}, diagnostic: workflow cache ${indicators}`,
        name: '1 worker indicators/s, cache for every workflow',
        unit: '/s',
        value: spreadOf(cached, (r) => r.rate),
      }),
    );
    details.oneWorkerBigCache = drainDetails(cached);
  }
  return { benchmark: 'scale-out', figures, details };
}
