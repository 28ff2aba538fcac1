/**
 * A connection to an OpenCTI live stream that does not give up: it reconnects after EOF and
 * network errors with exponential backoff and jitter, resumes from the position it is given,
 * reconnects when the stream goes silent, and retries slowly (never exits) while OpenCTI
 * refuses it with 401 or 410 so an operator can fix the cause. It can also be paused (the
 * connection is closed) and resumed, which is how the starter bounds what it buffers.
 */
import { EventSource, type EventSourceFetchInit } from 'eventsource';
import type { Logger } from '../common/logger';

export interface StreamPosition {
  from?: string;
  recover?: string;
}

export interface LiveStreamOptions {
  /** `{OPENCTI_URL}/stream/{CONNECTOR_LIVE_STREAM_ID}` */
  url: string;
  token: string;
  listenDelete: boolean;
  noDependencies: boolean;
  withInferences: boolean;
  /** Asked at every (re)connection: where to resume. */
  position: () => StreamPosition;
  /**
   * Every frame, whatever its event name (`connected`, `heartbeat`, knowledge, `consumer_metrics`,
   * names not invented yet); `id` is '' for frames without one.
   */
  onFrame: (event: string, id: string, data: string) => void;
  log: Logger;
  /** Reconnect when no frame with an id arrived for this long (pycti uses 45 s). */
  watchdogMs?: number;
  /** First retry delay after 401/410, which an operator has to fix; doubles up to maxRefusedRetryMs. */
  refusedRetryMs?: number;
  maxRefusedRetryMs?: number;
  /** Cap of the exponential backoff after EOF and network errors. */
  maxBackoffMs?: number;
  /** Told of each reconnection and its reason (metrics). */
  onReconnect?: (reason: 'error' | 'refused' | 'silent') => void;
}

function jitter(ms: number): number {
  return ms * (0.5 + Math.random() / 2);
}

/** Statuses an operator has to fix; retried slowly. */
const REFUSED = new Set([401, 403, 410]);

/**
 * The library dispatches every frame as a DOM event named after its SSE `event:`; listening by
 * name would miss the names nobody knows yet, which still carry ids and keep the stream alive.
 */
class ObservedEventSource extends EventSource {
  constructor(
    url: URL,
    init: { fetch: (input: string | URL, init: EventSourceFetchInit) => Promise<Response> },
    private readonly observe: (event: Event) => void,
  ) {
    super(url, init);
  }

  override dispatchEvent(event: Event): boolean {
    this.observe(event);
    return super.dispatchEvent(event);
  }
}

export class LiveStream {
  private source?: EventSource;
  private reconnectTimer?: NodeJS.Timeout;
  private watchdog?: NodeJS.Timeout;
  /** Connection failures since the last frame with an id: drives the backoff. */
  private failures = 0;
  /** Consecutive refusals (401/403/410): drives the slow retry. */
  private refusals = 0;
  private lastFrameAt = Date.now();
  private lastReason = '';
  private running = false;
  private paused = false;
  private connections = 0;

  constructor(private readonly options: LiveStreamOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const watchdogMs = this.options.watchdogMs ?? 45_000;
    this.watchdog = setInterval(() => this.checkSilence(watchdogMs), Math.max(50, Math.min(5_000, watchdogMs / 3)));
    this.watchdog.unref();
    if (!this.paused) this.connect();
  }

  stop(): void {
    this.running = false;
    clearInterval(this.watchdog);
    this.disconnect();
  }

  /** Drops the current connection and opens a new one from the current position. */
  restart(): void {
    if (!this.running) return;
    this.disconnect();
    if (!this.paused) this.connect();
  }

  /** Closes the connection until resume(); frames already read but not yet dispatched are dropped. */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.disconnect();
  }

  /** Reconnects from the current position after pause(). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.running) this.connect();
  }

  isPaused(): boolean {
    return this.paused;
  }

  connectionCount(): number {
    return this.connections;
  }

  /** The stream is open and reading (readiness). */
  isConnected(): boolean {
    return this.source?.readyState === EventSource.OPEN;
  }

  private disconnect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.source?.close();
    this.source = undefined;
  }

  private checkSilence(watchdogMs: number): void {
    if (!this.source || !this.running || this.paused) return;
    const silentFor = Date.now() - this.lastFrameAt;
    if (silentFor <= watchdogMs) return;
    this.options.log.warn('no frame with an id for too long; reconnecting', { silentForMs: silentFor, watchdogMs });
    this.failures++;
    this.options.onReconnect?.('silent');
    this.restart();
  }

  private connect(): void {
    const { url, token, listenDelete, noDependencies, withInferences, log } = this.options;
    const position = this.options.position();
    const target = new URL(url);
    if (position.recover) target.searchParams.set('recover', position.recover);
    this.lastFrameAt = Date.now();
    this.lastReason = '';
    const fetchStream = async (input: string | URL, init: EventSourceFetchInit): Promise<Response> => {
      const headers = new Headers(init.headers);
      // The library would send the last id it saw, which may be a dependency frame's id (resume
      // is exclusive, so the indicator event sharing it would be skipped); the connector decides.
      headers.delete('last-event-id');
      if (position.from) headers.set('last-event-id', position.from);
      headers.set('authorization', `Bearer ${token}`);
      headers.set('listen-delete', String(listenDelete));
      headers.set('no-dependencies', String(noDependencies));
      headers.set('with-inferences', String(withInferences));
      headers.set('cache-control', 'no-cache');
      const response = await fetch(input, { ...init, headers });
      // OpenCTI puts the reason of a refusal in the status line, with an empty body.
      if (!response.ok) this.lastReason = response.statusText;
      return response;
    };
    const source: EventSource = new ObservedEventSource(target, { fetch: fetchStream }, (event) => {
      if (this.source !== source || !(event instanceof MessageEvent)) return;
      const id = event.lastEventId;
      if (id) {
        this.lastFrameAt = Date.now();
        this.failures = 0;
        this.refusals = 0;
      }
      this.options.onFrame(event.type, id, typeof event.data === 'string' ? event.data : String(event.data));
    });
    this.source = source;
    this.connections++;
    log.info('connecting to the live stream', { url: `${target.origin}${target.pathname}`, from: position.from, recover: position.recover });
    source.addEventListener('error', (error) => {
      if (this.source !== source) return;
      // Reconnection is ours to schedule: the library would resume from the wrong id.
      source.close();
      this.source = undefined;
      this.scheduleReconnect(error.code, error.message);
    });
  }

  private scheduleReconnect(status: number | undefined, message: string | undefined): void {
    if (!this.running || this.paused) return;
    this.options.onReconnect?.(status !== undefined && REFUSED.has(status) ? 'refused' : 'error');
    const reason = this.lastReason ? ` (${this.lastReason})` : '';
    let delay: number;
    if (status !== undefined && REFUSED.has(status)) {
      this.refusals++;
      const first = this.options.refusedRetryMs ?? 5_000;
      delay = jitter(Math.min(this.options.maxRefusedRetryMs ?? 60_000, first * 2 ** Math.min(this.refusals - 1, 10)));
      const advice =
        status === 410
          ? `the live stream is stopped (410)${reason}: start it in OpenCTI (Data sharing > Live streams)`
          : `OpenCTI refused the live stream with ${status}${reason}: check OPENCTI_TOKEN and CONNECTOR_LIVE_STREAM_ID`;
      this.options.log.error(`${advice}; retrying`, { retryInMs: Math.round(delay), refusals: this.refusals });
    } else {
      this.failures++;
      delay = jitter(Math.min(this.options.maxBackoffMs ?? 30_000, 500 * 2 ** Math.min(this.failures - 1, 10)));
      const what = status ? `answered ${status}${reason}` : `connection ended${message ? ` (${message})` : ''}`;
      this.options.log.warn(`live stream ${what}; reconnecting`, { retryInMs: Math.round(delay), failures: this.failures });
    }
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.running && !this.paused) this.connect();
    }, delay);
  }
}
