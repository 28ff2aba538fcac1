/**
 * `GET /stream/:id` — the live stream handler (headers, resume, recover snapshot, heartbeats, filters). Each open response is a
 * StreamConnection that reads the event log from its cursor in batches, writes one chunk per
 * batch and waits for 'drain' when the socket buffer is full, so a bulk of thousands of
 * events streams at socket speed without unbounded buffering. Appends wake connections
 * immediately (coalesced through setImmediate) instead of polling.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StreamCollection } from './collection';
import { syntheticCreatePayload, StreamRecord } from './envelope';
import type { EventLog, LogEntry } from './event-log';
import { bearerToken, headerValue, sendEmptyStatus, sendJson } from './http';
import { uuidV4 } from './ids';
import { octiExtension, StixObject } from './indicators';
import type { KnowledgeBase } from './knowledge';
import { comparePositions, formatPosition, isoDateOfMs, parsePosition, parseStreamParameter, StreamPosition } from './stream-position';

export const REASON_NOT_AUTHENTICATED = 'You are not authenticated, please check your credentials';
export const REASON_NOT_AUTHORIZED = 'You are not authorized, please check your credentials';
export const REASON_STOPPED = 'This live stream is stopped';
const REASON_GENERIC_STREAM = 'Consume generic stream is only authorized for bypass user';
/** What Redis answers to XREAD with a malformed id; the platform would surface it as a 500. */
const INVALID_ID_MESSAGE = 'ERR Invalid stream ID specified as stream command argument';

/** Entries per read, like the platform's Redis reads (it uses 100; larger is kinder to benchmarks). */
const BATCH_SIZE = 500;
/** Batches written before yielding to the event loop when the socket keeps accepting data. */
const BATCHES_PER_TURN = 8;
/** Oldest request records are dropped beyond this, so a long benchmark cannot grow it forever. */
const MAX_REQUEST_RECORDS = 10_000;

export interface StreamRequestRecord {
  at: number;
  headers: Record<string, string | undefined>;
  query: Record<string, string>;
}

export interface StreamHubOptions {
  collection: StreamCollection;
  log: EventLog<StreamRecord>;
  knowledge: KnowledgeBase;
  isValidToken(token: string | undefined): boolean;
  heartbeatMs: number;
  dependencies: boolean;
}

interface ConnectionOptions {
  cursor: StreamPosition;
  startId: string | undefined;
  snapshot: StixObject[];
  listenDelete: boolean;
  withInferences: boolean;
  delayMs: number;
}

function frame(id: string | undefined, event: string, data: string): string {
  let text = id === undefined ? '' : `id: ${id}\n`;
  if (event !== '') text += `event: ${event}\n`;
  // Envelopes are single-line JSON; raw fault-injection data may not be, and SSE carries
  // multi-line data as one `data:` line per line.
  for (const line of data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  return `${text}\n`;
}

function updatedAtMs(stix: StixObject): number {
  const value = octiExtension(stix)?.['updated_at'];
  return typeof value === 'string' ? Date.parse(value) : 0;
}

class StreamConnection {
  readonly id = uuidV4();
  delayMs: number;
  private cursor: StreamPosition;
  private lastEventId: string | undefined;
  private lastEventPosition: StreamPosition | undefined;
  private readonly snapshot: StixObject[];
  private snapshotIndex = 0;
  /** Ids of referenced objects already sent on this connection (the platform's LRU). */
  private readonly dependenciesSent = new Set<string>();
  private scheduled = false;
  private blocked = false;
  private sleeping = false;
  private closed = false;
  private readonly heartbeatTimer: NodeJS.Timeout;

  constructor(
    private readonly res: ServerResponse,
    private readonly hub: StreamHub,
    private readonly options: ConnectionOptions,
  ) {
    this.cursor = options.cursor;
    this.snapshot = options.snapshot;
    this.delayMs = options.delayMs;
    if (options.startId !== undefined) this.setLastEventId(options.startId, parsePosition(options.startId));
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'Access-Control-Allow-Origin': '*',
    });
    res.write(frame(undefined, 'connected', JSON.stringify(this.connectedInfo())));
    res.on('close', () => this.dispose());
    this.heartbeatTimer = setInterval(() => this.heartbeat(), hub.options.heartbeatMs);
    this.wake();
  }

  wake(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => this.pump());
  }

  end(): void {
    if (this.closed) return;
    this.res.end();
    this.dispose();
  }

  private connectedInfo(): Record<string, unknown> {
    const { log } = this.hub.options;
    const first = log.first();
    const last = log.last();
    return {
      lastEventId: last?.id ?? '0-0',
      firstEventId: first?.id ?? '0-0',
      firstEventDate: isoDateOfMs(first?.position.ms ?? 0),
      lastEventDate: isoDateOfMs(last?.position.ms ?? 0),
      streamSize: log.size,
      connectionId: this.id,
    };
  }

  private setLastEventId(id: string, position: StreamPosition | undefined): void {
    this.lastEventId = id;
    this.lastEventPosition = position;
  }

  private pump(): void {
    this.scheduled = false;
    let batches = 0;
    while (!this.closed && !this.blocked && !this.sleeping) {
      const chunk = this.snapshotIndex < this.snapshot.length ? this.nextSnapshotBatch() : this.nextLogBatch();
      if (chunk === undefined) return; // caught up: the next append wakes us
      if (chunk !== '' && !this.res.write(chunk)) {
        this.blocked = true;
        this.res.once('drain', () => {
          this.blocked = false;
          this.wake();
        });
      }
      // The platform re-checks the collection after every batch and ends the response if it was stopped.
      if (!this.hub.options.collection.live) {
        this.end();
        return;
      }
      if (this.delayMs > 0) {
        this.sleeping = true;
        setTimeout(() => {
          this.sleeping = false;
          this.wake();
        }, this.delayMs);
        return;
      }
      if (++batches >= BATCHES_PER_TURN) {
        this.wake();
        return;
      }
    }
  }

  /** Recovery items: `create` frames with `init-create` and id `<updated_at-ms>-0`. */
  private nextSnapshotBatch(): string {
    const items = this.snapshot.slice(this.snapshotIndex, this.snapshotIndex + BATCH_SIZE);
    this.snapshotIndex += items.length;
    let chunk = '';
    for (const stix of items) {
      const position = { ms: updatedAtMs(stix), seq: 0 };
      const id = formatPosition(position);
      const refs = stix['object_marking_refs'];
      chunk += this.dependencyFrames(id, Array.isArray(refs) ? refs : []);
      chunk += frame(id, 'create', syntheticCreatePayload(stix, 'init-create'));
      this.setLastEventId(id, position);
    }
    return chunk;
  }

  /** Undefined when nothing is left to read. */
  private nextLogBatch(): string | undefined {
    const entries = this.hub.options.log.after(this.cursor, BATCH_SIZE);
    const last = entries[entries.length - 1];
    if (last === undefined) return undefined;
    let chunk = '';
    for (const entry of entries) chunk += this.framesFor(entry);
    this.cursor = last.position;
    // Like the platform: the last entry *read* becomes the heartbeat id, even if filtered out.
    this.setLastEventId(last.id, last.position);
    return chunk;
  }

  private framesFor(entry: LogEntry<StreamRecord>): string {
    const record = entry.value;
    if (record.kind === 'raw') return frame(entry.id, record.event, record.data);
    if (record.delivery === null) return '';
    if (record.inferred && !this.options.withInferences) return '';
    if (record.delivery === 'delete') return this.options.listenDelete ? frame(entry.id, 'delete', record.payload) : '';
    return this.dependencyFrames(entry.id, record.markingRefs) + frame(entry.id, record.delivery, record.payload);
  }

  /**
   * `init-dependencies` creates sharing the triggering event's id, for each referenced object
   * this connection has not received yet: the platform keeps a per-connection cache of the
   * ids it already sent, so a marking goes out once per connection, before the first object
   * that references it, and again only after a reconnect. `no-dependencies` does not
   * suppress them: it only concerns relationships, which the emulator does not model.
   */
  private dependencyFrames(id: string, refs: readonly unknown[]): string {
    if (!this.hub.options.dependencies) return '';
    let chunk = '';
    for (const ref of refs) {
      if (typeof ref !== 'string' || this.dependenciesSent.has(ref)) continue;
      const payload = this.hub.options.knowledge.dependencyPayload(ref);
      if (payload === undefined) continue;
      this.dependenciesSent.add(ref);
      chunk += frame(id, 'create', payload);
    }
    return chunk;
  }

  private heartbeat(): void {
    if (this.closed || !this.hub.heartbeatsEnabled) return;
    const { log } = this.hub.options;
    const caughtUp = this.snapshotIndex >= this.snapshot.length && comparePositions(this.cursor, log.lastPosition()) >= 0;
    if (caughtUp) {
      // The platform's empty read: the heartbeat id advances to a synthetic `<now>-0`.
      const idle = log.idlePosition();
      if (this.lastEventPosition === undefined || comparePositions(idle, this.lastEventPosition) > 0) {
        this.setLastEventId(formatPosition(idle), idle);
      }
    }
    if (this.lastEventId === undefined) return;
    const ms = Number.parseInt(this.lastEventId.split('-')[0] ?? '0', 10);
    this.res.write(frame(this.lastEventId, 'heartbeat', JSON.stringify(isoDateOfMs(ms))));
  }

  private dispose(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    this.hub.forget(this);
  }
}

export class StreamHub {
  heartbeatsEnabled = true;
  private readonly open = new Map<string, StreamConnection>();
  private readonly requests: StreamRequestRecord[] = [];
  private readonly unsubscribe: () => void;

  constructor(readonly options: StreamHubOptions) {
    this.unsubscribe = options.log.subscribe(() => {
      for (const connection of this.open.values()) connection.wake();
    });
  }

  /** Handles every request under `/stream`. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (req.method === 'GET') this.record(req, url);
    const path = url.pathname.replace(/\/+$/, '');
    const valid = this.options.isValidToken(bearerToken(req));
    if (req.method !== 'GET') return sendEmptyStatus(res, 404);
    if (path === '/stream') {
      return sendEmptyStatus(res, 401, valid ? REASON_GENERIC_STREAM : REASON_NOT_AUTHENTICATED);
    }
    const match = /^\/stream\/([^/]+)$/.exec(path);
    if (!match?.[1]) return sendEmptyStatus(res, 404);
    let id: string;
    try {
      id = decodeURIComponent(match[1]);
    } catch {
      return sendEmptyStatus(res, 401, REASON_NOT_AUTHORIZED);
    }
    // Check order of the platform: collection lookup (401 / 410) before authentication.
    if (id === 'live') return sendEmptyStatus(res, 401, valid ? REASON_NOT_AUTHORIZED : REASON_NOT_AUTHENTICATED);
    const { collection } = this.options;
    if (id !== collection.id) return sendEmptyStatus(res, 401, REASON_NOT_AUTHORIZED);
    if (!collection.live) return sendEmptyStatus(res, 410, REASON_STOPPED);
    if (!valid) return sendEmptyStatus(res, 401, REASON_NOT_AUTHENTICATED);
    this.openConnection(req, res, url, id);
  }

  /** `POST /stream/connection/:connectionId {"delay": ms}` — per-connection back-pressure. */
  setConnectionDelay(req: IncomingMessage, res: ServerResponse, connectionId: string, body: unknown): void {
    if (!this.options.isValidToken(bearerToken(req))) return sendEmptyStatus(res, 401, REASON_NOT_AUTHENTICATED);
    const connection = this.open.get(connectionId);
    if (!connection) return sendEmptyStatus(res, 401, 'This is not your connection');
    const delay = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['delay'] : undefined;
    connection.delayMs = typeof delay === 'number' && delay > 0 ? delay : 0;
    connection.wake();
    sendJson(res, 200, { message: 'ok' });
  }

  dropAll(): number {
    const connections = [...this.open.values()];
    for (const connection of connections) connection.end();
    return connections.length;
  }

  count(): number {
    return this.open.size;
  }

  requestLog(): StreamRequestRecord[] {
    return this.requests.map((r) => ({ at: r.at, headers: { ...r.headers }, query: { ...r.query } }));
  }

  forget(connection: StreamConnection): void {
    this.open.delete(connection.id);
  }

  close(): void {
    this.unsubscribe();
    this.dropAll();
  }

  private openConnection(req: IncomingMessage, res: ServerResponse, url: URL, id: string): void {
    const query = url.searchParams;
    const option = (name: string): string | undefined => {
      // A repeated boolean query option becomes an array on the platform, i.e. "not set".
      const values = query.getAll(name);
      return (values.length === 1 ? values[0] : undefined) || headerValue(req, name);
    };
    const startParameter = query.get('from') || headerValue(req, 'from') || headerValue(req, 'last-event-id');
    const recoverParameter = query.get('recover') || headerValue(req, 'recover') || headerValue(req, 'recover-date');
    // `no-dependencies` is accepted but changes nothing here: it only suppresses related
    // relationships, which the emulator does not model; referenced markings are always sent.
    const start = parseStreamParameter(startParameter);
    const recover = parseStreamParameter(recoverParameter);
    if (recover?.dateMs !== undefined && start?.dateMs === undefined) {
      return sendEmptyStatus(res, 500, `Error in stream ${id}: Recovery mode is only possible with a start date.`);
    }
    const recovering = recover?.dateMs !== undefined && start?.dateMs !== undefined && recover.dateMs > start.dateMs;
    const tailFrom = recovering ? recover : start;
    if (tailFrom !== undefined && tailFrom.position === undefined) {
      return sendEmptyStatus(res, 500, `Error in stream ${id}: ${INVALID_ID_MESSAGE}`);
    }
    const delay = Number.parseInt(query.get('delay') || headerValue(req, 'event-delay') || '0', 10);
    const snapshot =
      recovering && start?.dateMs !== undefined && recover?.dateMs !== undefined
        ? this.options.knowledge.snapshot(start.dateMs, recover.dateMs)
        : [];
    const connection = new StreamConnection(res, this, {
      // No start point: only events appended from now on (the reserved idle id guarantees it).
      cursor: tailFrom?.position ?? this.options.log.idlePosition(),
      startId: start?.streamId,
      snapshot,
      listenDelete: option('listen-delete') !== 'false',
      withInferences: option('with-inferences') === 'true',
      delayMs: Number.isNaN(delay) || delay < 0 ? 0 : delay,
    });
    this.open.set(connection.id, connection);
  }

  private record(req: IncomingMessage, url: URL): void {
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    if (headers['authorization'] !== undefined) {
      headers['authorization'] = /^bearer\s/i.test(headers['authorization']) ? 'Bearer ***' : '***';
    }
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) if (!(name in query)) query[name] = value;
    this.requests.push({ at: Date.now(), headers, query });
    if (this.requests.length > MAX_REQUEST_RECORDS) this.requests.splice(0, this.requests.length - MAX_REQUEST_RECORDS);
  }
}
