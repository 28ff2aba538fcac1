/**
 * A connection to an OpenCTI live stream that does not give up: it reconnects after EOF and
 * network errors with exponential backoff and jitter, resumes from the position it is given,
 * reconnects when the stream goes silent, and retries slowly (never exits) while OpenCTI
 * refuses it with 401 or 410 so an operator can fix the cause.
 */
import { EventSource, type EventSourceFetchInit } from 'eventsource';
import type { Logger } from '../common/logger';

/** SSE event names the connector listens to; anything else (consumer_metrics, future names) is ignored. */
export const LISTENED_EVENTS = ['create', 'update', 'delete', 'merge', 'heartbeat'] as const;

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
  onFrame: (event: string, id: string, data: string) => void;
  log: Logger;
  /** Reconnect when no frame with an id arrived for this long (pycti uses 45 s). */
  watchdogMs?: number;
  /** Retry delay after 401/410, which an operator has to fix. */
  refusedRetryMs?: number;
  maxBackoffMs?: number;
}

function jitter(ms: number): number {
  return ms * (0.5 + Math.random() / 2);
}

export class LiveStream {
  private source?: EventSource;
  private reconnectTimer?: NodeJS.Timeout;
  private watchdog?: NodeJS.Timeout;
  private failures = 0;
  private lastFrameAt = Date.now();
  private lastReason = '';
  private stopped = false;
  private connections = 0;

  constructor(private readonly options: LiveStreamOptions) {}

  start(): void {
    this.stopped = false;
    this.connect();
    const watchdogMs = this.options.watchdogMs ?? 45_000;
    this.watchdog = setInterval(() => this.checkSilence(watchdogMs), Math.min(5_000, watchdogMs / 3));
    this.watchdog.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.watchdog);
    this.source?.close();
    this.source = undefined;
  }

  /** Drops the current connection and opens a new one from the current position. */
  restart(): void {
    if (this.stopped) return;
    this.source?.close();
    this.source = undefined;
    clearTimeout(this.reconnectTimer);
    this.connect();
  }

  connectionCount(): number {
    return this.connections;
  }

  private checkSilence(watchdogMs: number): void {
    if (!this.source || this.stopped) return;
    const silentFor = Date.now() - this.lastFrameAt;
    if (silentFor <= watchdogMs) return;
    this.options.log.warn('no frame with an id for too long; reconnecting', { silentForMs: silentFor, watchdogMs });
    this.failures++;
    this.restart();
  }

  private connect(): void {
    const { url, token, listenDelete, noDependencies, withInferences, log } = this.options;
    const position = this.options.position();
    const target = new URL(url);
    if (position.recover) target.searchParams.set('recover', position.recover);
    this.lastFrameAt = Date.now();
    this.lastReason = '';
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      'listen-delete': String(listenDelete),
      'no-dependencies': String(noDependencies),
      'with-inferences': String(withInferences),
      'cache-control': 'no-cache',
    };
    if (position.from) headers['last-event-id'] = position.from;
    const source = new EventSource(target, {
      fetch: async (input: string | URL, init: EventSourceFetchInit) => {
        // The library's own Last-Event-ID is the last frame seen, which may be a dependency
        // frame's id; the connector decides where to resume, so its header wins.
        const response = await fetch(input, { ...init, headers: { ...init.headers, ...headers } });
        // OpenCTI puts the reason of a refusal in the status line, with an empty body.
        if (!response.ok) this.lastReason = response.statusText;
        return response;
      },
    });
    this.source = source;
    this.connections++;
    log.info('connecting to the live stream', { url: `${target.origin}${target.pathname}`, from: position.from, recover: position.recover });

    for (const name of LISTENED_EVENTS) {
      source.addEventListener(name, (message) => {
        if (this.source !== source) return;
        if (message.lastEventId) {
          this.lastFrameAt = Date.now();
          this.failures = 0;
        }
        this.options.onFrame(name, message.lastEventId, message.data);
      });
    }
    source.addEventListener('error', (error) => {
      if (this.source !== source) return;
      // Reconnection is ours to schedule: the library would resume from the wrong id.
      source.close();
      this.source = undefined;
      this.scheduleReconnect(error.code, error.message);
    });
  }

  private scheduleReconnect(status: number | undefined, message: string | undefined): void {
    if (this.stopped) return;
    this.failures++;
    const refusedRetryMs = this.options.refusedRetryMs ?? 30_000;
    let delay: number;
    const reason = this.lastReason ? ` (${this.lastReason})` : '';
    if (status === 401 || status === 403) {
      this.options.log.error(`OpenCTI refused the live stream with ${status}${reason}: check OPENCTI_TOKEN and CONNECTOR_LIVE_STREAM_ID; retrying`, { retryInMs: refusedRetryMs });
      delay = refusedRetryMs;
    } else if (status === 410) {
      this.options.log.error(`the live stream is stopped (410)${reason}: start it in OpenCTI (Data sharing > Live streams); retrying`, { retryInMs: refusedRetryMs });
      delay = refusedRetryMs;
    } else {
      delay = jitter(Math.min(this.options.maxBackoffMs ?? 30_000, 500 * 2 ** Math.min(this.failures - 1, 10)));
      const what = status ? `answered ${status}${reason}` : `connection ended${message ? ` (${message})` : ''}`;
      this.options.log.warn(`live stream ${what}; reconnecting`, { retryInMs: Math.round(delay), failures: this.failures });
    }
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }
}
