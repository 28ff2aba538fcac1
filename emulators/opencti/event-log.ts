/**
 * The ordered event store standing in for the platform's Redis stream. Ids follow Redis
 * XADD rules (`max(now, last ms)` and a per-ms sequence) so they are strictly increasing
 * even when thousands of events are appended within one millisecond.
 */
import { comparePositions, formatPosition, StreamPosition, ZERO_POSITION } from './stream-position';

export interface LogEntry<T> {
  readonly id: string;
  readonly position: StreamPosition;
  readonly value: T;
}

export class EventLog<T> {
  private readonly entries: LogEntry<T>[] = [];
  /** Highest position ever handed out, including synthetic idle ids given to heartbeats. */
  private issued: StreamPosition = ZERO_POSITION;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** `build` receives the id first so the payload can carry timestamps equal to the id's ms. */
  append(build: (id: string, position: StreamPosition) => T): LogEntry<T> {
    const now = this.clock();
    const position = now > this.issued.ms ? { ms: now, seq: 0 } : { ms: this.issued.ms, seq: this.issued.seq + 1 };
    const id = formatPosition(position);
    const entry: LogEntry<T> = { id, position, value: build(id, position) };
    this.issued = position;
    this.entries.push(entry);
    for (const listener of this.listeners) listener();
    return entry;
  }

  /** Entries strictly after `position` (exclusive resume, like XREAD), at most `limit`. */
  after(position: StreamPosition, limit: number): LogEntry<T>[] {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const entry = this.entries[mid];
      if (entry !== undefined && comparePositions(entry.position, position) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return this.entries.slice(lo, lo + limit);
  }

  first(): LogEntry<T> | undefined {
    return this.entries[0];
  }

  last(): LogEntry<T> | undefined {
    return this.entries[this.entries.length - 1];
  }

  lastPosition(): StreamPosition {
    return this.last()?.position ?? ZERO_POSITION;
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * The synthetic `<now>-0` the platform uses after an empty read. It is reserved: later
   * appends get a strictly greater id, so a client resuming from a heartbeat id never skips
   * an event appended in the same millisecond.
   */
  idlePosition(): StreamPosition {
    const now = this.clock();
    if (now > this.issued.ms) this.issued = { ms: now, seq: 0 };
    return this.issued;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
