/**
 * The starter's Prometheus series: is the stream keeping up, is Temporal taking the events, is
 * the position being saved. The starter calls the small interface below at the points where
 * those things happen (one line each); gauges are read from the starter when scraped.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { isStreamId } from '../domain/stream-id';

export type ReconnectReason = 'error' | 'refused' | 'silent';

export interface StarterMetrics {
  /** A frame arrived, by its SSE event name. */
  frameReceived(event: string): void;
  /** Every event of a frame was accepted by Temporal; `receivedAt` is performance.now() at arrival. */
  handedToTemporal(events: number, receivedAt: number): void;
  /** The stream was closed for back-pressure. */
  paused(): void;
  /** The stream connection is being opened again, and why. */
  reconnecting(reason: ReconnectReason): void;
  /** An event set aside as unusable (a poison event) instead of blocking the stream. */
  quarantined(reason: string): void;
  /** The position was stored in OpenCTI. */
  saved(position: string): void;
  /** Where the gauges read from, once the starter exists. */
  watch(sources: StarterGauges): void;
}

export interface StarterGauges {
  /** Highest stream id below which Temporal accepted everything. */
  acknowledged(): string | undefined;
  /** Frames held in memory, which back-pressure compares with CONNECTOR_MAX_BUFFERED_EVENTS. */
  buffered(): number;
  /** Events read from the stream and not yet accepted by Temporal. */
  waiting(): number;
  isPaused(): boolean;
}

/** For a starter whose metrics are not exposed, and for tests. */
export const NO_STARTER_METRICS: StarterMetrics = {
  frameReceived() {},
  handedToTemporal() {},
  paused() {},
  reconnecting() {},
  quarantined() {},
  saved() {},
  watch() {},
};

/** SSE event names kept as label values; anything else is "other", so a platform cannot grow the label set. */
const EVENT_NAMES = new Set(['create', 'update', 'delete', 'merge', 'heartbeat', 'connected', 'consumer_metrics', 'sync']);

/** Seconds between the time in a stream id (`<ms>-<seq>`) and now. */
function ageOf(streamId: string | undefined): number | undefined {
  if (!streamId || !isStreamId(streamId)) return undefined;
  return Math.max(0, (Date.now() - Number(streamId.split('-')[0])) / 1000);
}

export function createStarterMetrics(registry: Registry): StarterMetrics {
  const registers = [registry];
  let sources: StarterGauges | undefined;
  let savedPosition: string | undefined;
  let savedAt: number | undefined;

  const frames = new Counter({
    name: 'livehunt_starter_stream_frames_total',
    help: 'Live stream frames received, by SSE event name.',
    labelNames: ['event'] as const,
    registers,
  });
  const handed = new Counter({
    name: 'livehunt_starter_events_handed_to_temporal_total',
    help: 'Indicator events accepted by Temporal (signalWithStart or signal).',
    registers,
  });
  const latency = new Histogram({
    name: 'livehunt_starter_delivery_latency_seconds',
    help: 'From a frame arriving to Temporal accepting every event it carried (waiting for earlier events of the same indicator and for a delivery slot included).',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const pauses = new Counter({
    name: 'livehunt_starter_stream_pauses_total',
    help: 'Times the stream was closed because too many events waited for Temporal (CONNECTOR_MAX_BUFFERED_EVENTS).',
    registers,
  });
  const reconnections = new Counter({
    name: 'livehunt_starter_stream_reconnections_total',
    help: 'Stream reconnections, by reason: error (EOF, network, 5xx), refused (401/403/410), silent (watchdog).',
    labelNames: ['reason'] as const,
    registers,
  });
  const quarantine = new Counter({
    name: 'livehunt_starter_events_quarantined_total',
    help: 'Events set aside as unusable instead of blocking the stream, by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  new Gauge({
    name: 'livehunt_starter_stream_lag_seconds',
    help: 'Now minus the time in the stream id up to which Temporal accepted everything: how far behind OpenCTI the connector is (heartbeats keep it small when idle).',
    registers,
    collect() {
      const age = ageOf(sources?.acknowledged());
      if (age !== undefined) this.set(age);
    },
  });
  new Gauge({
    name: 'livehunt_starter_buffered_events',
    help: 'Frames held in memory (waiting for Temporal, or acknowledged but not yet past the saved position); the stream pauses when this reaches CONNECTOR_MAX_BUFFERED_EVENTS.',
    registers,
    collect() {
      if (sources) this.set(sources.buffered());
    },
  });
  new Gauge({
    name: 'livehunt_starter_events_waiting_for_temporal',
    help: 'Indicator events read from the stream and not yet accepted by Temporal.',
    registers,
    collect() {
      if (sources) this.set(sources.waiting());
    },
  });
  new Gauge({
    name: 'livehunt_starter_stream_paused',
    help: '1 while the stream is closed for back-pressure.',
    registers,
    collect() {
      if (sources) this.set(sources.isPaused() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'livehunt_starter_saved_position_age_seconds',
    help: 'Now minus the time in the stream id last saved in OpenCTI: what a crash now would replay.',
    registers,
    collect() {
      const age = ageOf(savedPosition);
      if (age !== undefined) this.set(age);
    },
  });
  new Gauge({
    name: 'livehunt_starter_last_save_timestamp_seconds',
    help: 'When the position was last saved in OpenCTI (Unix time); stale when OpenCTI is unreachable.',
    registers,
    collect() {
      if (savedAt !== undefined) this.set(savedAt / 1000);
    },
  });

  return {
    frameReceived: (event) => frames.inc({ event: EVENT_NAMES.has(event) ? event : 'other' }),
    handedToTemporal(events, receivedAt) {
      if (events === 0) return;
      handed.inc(events);
      latency.observe((performance.now() - receivedAt) / 1000);
    },
    paused: () => pauses.inc(),
    reconnecting: (reason) => reconnections.inc({ reason }),
    quarantined: (reason) => quarantine.inc({ reason }),
    saved(position) {
      savedPosition = position;
      savedAt = Date.now();
    },
    watch(watched) {
      sources = watched;
    },
  };
}
