/**
 * A connection to an OpenCTI live stream that does not give up: it reconnects after EOF and
 * network errors with exponential backoff and jitter, resumes from the position it is given,
 * reconnects when the stream goes silent, and retries slowly (never exits) while OpenCTI
 * refuses it with 401 or 410 so an operator can fix the cause. It can also be paused (the
 * connection is closed) and resumed, which is how the starter bounds what it buffers.
 */
import { EventSource, type EventSourceFetchInit } from 'eventsource';
import { createHttpClient, describeFetchError, discardBody, formatBytes, isRedirect, type FetchFunction } from '../common/http';
import { backoffDelay } from '../common/backoff';
import type { Logger } from '../common/logger';
import { limitFrames, MAX_FRAME_BYTES, type OversizedFrame } from './frame-limit';
import { OPENCTI_TLS_HINT } from './opencti-api';

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
  /** How requests leave the process (proxy, TLS); common/http.ts. Default: direct. */
  fetch?: FetchFunction;
  /** Largest frame read (default MAX_FRAME_BYTES, 8 MiB); a larger one drops the connection. */
  maxFrameBytes?: number;
  /**
   * A frame passed maxFrameBytes: the connection was dropped at that frame (every frame before
   * it was handed to onFrame) and will reconnect from position(). `lastGoodId` is the id of the
   * last frame with an id this connection handed over (the resume position when there was
   * none); `frameId` is the oversized frame's own id when its first bytes named it. Called
   * before the reconnection asks position(), so the caller can move past the frame; otherwise
   * the same frame is met again at every reconnection (with a growing delay).
   */
  onOversizedFrame?: (lastGoodId: string | undefined, frameId: string | undefined) => void;
  /** Told of each reconnection and its reason (metrics). */
  onReconnect?: (reason: 'error' | 'refused' | 'silent') => void;
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
  private readonly fetch: FetchFunction;
  /** Where the current connection got to: the last id it handed over, else where it started. */
  private lastGoodId?: string;
  /** Set when the current connection was cut at an oversized frame. */
  private oversized?: OversizedFrame;
  /** Reconnections that met the same oversized frame again: drives their backoff. */
  private oversizedRepeats = 0;
  private lastOversizedAt?: string;
  /** Origin a redirect pointed to, for the log line (the redirect itself is never followed). */
  private redirectedTo?: string;

  constructor(private readonly options: LiveStreamOptions) {
    this.fetch = options.fetch ?? createHttpClient().fetch;
  }

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
    this.lastGoodId = position.from;
    this.oversized = undefined;
    this.redirectedTo = undefined;
    const maxFrameBytes = this.options.maxFrameBytes ?? MAX_FRAME_BYTES;
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
      // A redirect would carry the token to whatever host it names: it reaches the library as
      // a non-200 answer, which fails the connection, and is reported as a configuration error.
      let response: Response;
      try {
        response = await this.fetch(input, { ...init, headers, redirect: 'manual' });
      } catch (error) {
        // The library would only say "fetch failed"; an abort must stay an abort for it.
        if ((error as Error).name === 'AbortError') throw error;
        throw new Error(describeFetchError(error, OPENCTI_TLS_HINT), { cause: error });
      }
      if (isRedirect(response)) {
        const location = response.headers.get('location');
        try {
          this.redirectedTo = location ? new URL(location, target).origin : undefined;
        } catch {
          this.redirectedTo = undefined;
        }
        await discardBody(response);
        return new Response(null, { status: response.status, statusText: response.statusText });
      }
      // OpenCTI puts the reason of a refusal in the status line, with an empty body.
      if (!response.ok) this.lastReason = response.statusText;
      if (response.status !== 200 || !response.body) return response;
      const bounded = limitFrames(response.body, maxFrameBytes, (frame) => {
        if (this.source === source) this.oversized = frame;
      });
      return new Response(bounded, { status: response.status, statusText: response.statusText, headers: response.headers });
    };
    const source: EventSource = new ObservedEventSource(target, { fetch: fetchStream }, (event) => {
      if (this.source !== source || !(event instanceof MessageEvent)) return;
      const id = event.lastEventId;
      if (id) {
        this.lastGoodId = id;
        this.lastFrameAt = Date.now();
        this.failures = 0;
        this.refusals = 0;
      }
      this.options.onFrame(event.type, id, typeof event.data === 'string' ? event.data : String(event.data));
    });
    this.source = source;
    this.connections++;
    log.info('connecting to the live stream', {
      url: `${target.origin}${target.pathname}`,
      from: position.from,
      recover: position.recover,
    });
    source.addEventListener('error', (error) => {
      if (this.source !== source) return;
      // Reconnection is ours to schedule: the library would resume from the wrong id.
      source.close();
      this.source = undefined;
      if (this.oversized) this.reportOversized(this.oversized, maxFrameBytes);
      else this.scheduleReconnect(error.code, error.message);
    });
  }

  /** Tells the caller, then reconnects; the same frame met again waits longer each time. */
  private reportOversized(frame: OversizedFrame, maxFrameBytes: number): void {
    const at = frame.frameId ?? `after:${this.lastGoodId ?? ''}`;
    this.oversizedRepeats = at === this.lastOversizedAt ? this.oversizedRepeats + 1 : 0;
    this.lastOversizedAt = at;
    this.options.log.error(
      `a live-stream frame is larger than ${formatBytes(maxFrameBytes)}; dropped the connection instead of reading it whole`,
      {
        frameId: frame.frameId,
        lastGoodId: this.lastGoodId,
        bytesRead: frame.bytesRead,
        repeats: this.oversizedRepeats,
      },
    );
    try {
      this.options.onOversizedFrame?.(this.lastGoodId, frame.frameId);
    } catch (error) {
      // The reconnection below must happen whatever the caller's handler did.
      this.options.log.error('handling an oversized live-stream frame failed', { frameId: frame.frameId, error: (error as Error).message });
    }
    if (!this.running || this.paused) return;
    const delay = backoffDelay(this.oversizedRepeats, { firstMs: 500, maxMs: this.options.maxBackoffMs ?? 30_000, jitter: true });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.running && !this.paused) this.connect();
    }, delay);
  }

  private scheduleReconnect(status: number | undefined, message: string | undefined): void {
    if (!this.running || this.paused) return;
    this.options.onReconnect?.(status !== undefined && REFUSED.has(status) ? 'refused' : 'error');
    const reason = this.lastReason ? ` (${this.lastReason})` : '';
    let delay: number;
    if (status !== undefined && status >= 300 && status < 400) {
      // Operator's business, like a refusal: retried slowly, never followed.
      this.refusals++;
      const first = this.options.refusedRetryMs ?? 5_000;
      delay = backoffDelay(this.refusals - 1, { firstMs: first, maxMs: this.options.maxRefusedRetryMs ?? 60_000, jitter: true });
      this.options.log.error(
        `OpenCTI answered the live stream with a redirect (${status}) to ${this.redirectedTo ?? 'another location'}; not followed, so the token stays with the configured host: check OPENCTI_URL; retrying`,
        { retryInMs: Math.round(delay), refusals: this.refusals },
      );
    } else if (status !== undefined && REFUSED.has(status)) {
      this.refusals++;
      const first = this.options.refusedRetryMs ?? 5_000;
      delay = backoffDelay(this.refusals - 1, { firstMs: first, maxMs: this.options.maxRefusedRetryMs ?? 60_000, jitter: true });
      const advice =
        status === 410
          ? `the live stream is stopped (410)${reason}: start it in OpenCTI (Data sharing > Live streams)`
          : `OpenCTI refused the live stream with ${status}${reason}: check OPENCTI_TOKEN and CONNECTOR_LIVE_STREAM_ID`;
      this.options.log.error(`${advice}; retrying`, { retryInMs: Math.round(delay), refusals: this.refusals });
    } else {
      this.failures++;
      delay = backoffDelay(this.failures - 1, { firstMs: 500, maxMs: this.options.maxBackoffMs ?? 30_000, jitter: true });
      const what = status ? `answered ${status}${reason}` : `connection ended${message ? ` (${message})` : ''}`;
      this.options.log.warn(`live stream ${what}; reconnecting`, { retryInMs: Math.round(delay), failures: this.failures });
    }
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.running && !this.paused) this.connect();
    }, delay);
  }
}
