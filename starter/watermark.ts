/**
 * The stream position the connector may claim: the highest id below which every frame has been
 * handed to Temporal. Saving more would lose events after a crash; saving less only replays.
 *
 * Ids are not unique per frame (dependency frames carry the id of the event that follows them,
 * heartbeats repeat ids) and resume is exclusive, so an id is only complete once a frame with a
 * greater id, or a heartbeat carrying it, has arrived. During a recover snapshot ids are not
 * ordered at all, so nothing at or below the live-tail floor is ever claimed.
 */
import { parseStreamId } from '../domain/stream-id';

export interface FrameTicket {
  readonly id: string;
  /** Called once the frame's events are acknowledged by Temporal. */
  done(): void;
}

export interface FrameOptions {
  /**
   * False when more frames with the same id may follow: a dependency frame precedes the object
   * that needed it, and a malformed frame may have been one. Default true.
   */
  final?: boolean;
}

type Key = readonly [number, number];

interface Entry {
  id: string;
  key: Key;
  pending: boolean;
  /** A heartbeat says every frame up to its id was sent, so it is complete by itself. */
  heartbeat: boolean;
}

const MALFORMED: Key = [-1, -1];

function keyOf(id: string): Key {
  return parseStreamId(id) ?? MALFORMED;
}

function compare(a: Key, b: Key): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}

/** Entries held before the first compaction; later ones happen when the list doubles. */
const MIN_COMPACT_AT = 1024;

export class StreamWatermark {
  private entries: Entry[] = [];
  private acknowledged: string | undefined;
  private acknowledgedKey: Key | undefined;
  private received: string | undefined;
  private receivedKey: Key | undefined;
  private readonly floorKey: Key | undefined;
  private pendingFrames = 0;
  private barriers = 0;
  private compactAt = MIN_COMPACT_AT;
  private last: { key: Key; final: boolean } | undefined;

  /**
   * @param start the position the stream was opened from (already safe)
   * @param floor ids at or below it belong to a recover snapshot and are never claimed
   */
  constructor(start: string | undefined, floor?: string) {
    this.acknowledged = start;
    this.received = start;
    this.acknowledgedKey = start === undefined ? undefined : keyOf(start);
    this.receivedKey = this.acknowledgedKey;
    this.floorKey = floor === undefined ? undefined : keyOf(floor);
  }

  frame(id: string, options: FrameOptions = {}): FrameTicket {
    const ticket = this.hold(id);
    this.last = { key: keyOf(id), final: options.final ?? true };
    return ticket;
  }

  /**
   * Holds the claimable position at `id` until the ticket is done, without being a frame of the
   * stream (it does not change how later heartbeats are read). Used to keep the snapshot's end
   * unclaimed until the work it implies has been handed to Temporal.
   */
  barrier(id: string): FrameTicket {
    return this.hold(id, true);
  }

  private hold(id: string, barrier = false): FrameTicket {
    const entry: Entry = { id, key: keyOf(id), pending: true, heartbeat: false };
    this.push(entry);
    // A barrier is no frame: it must not look like work in flight to the back-pressure logic,
    // or a stream paused behind it could never resume.
    if (barrier) this.barriers++;
    else this.pendingFrames++;
    return {
      id,
      done: () => {
        if (!entry.pending) return;
        entry.pending = false;
        if (barrier) this.barriers--;
        else this.pendingFrames--;
      },
    };
  }

  heartbeat(id: string): void {
    const key = keyOf(id);
    // On the platform a heartbeat timer may fire between a dependency frame and the object it
    // precedes (both carry the same id): such a heartbeat proves only the lower ids complete.
    const racing = this.last !== undefined && !this.last.final && compare(this.last.key, key) === 0;
    this.push({ id, key, pending: false, heartbeat: !racing });
  }

  /** Highest id below which every frame is acknowledged: what is saved as `start_from`. */
  position(): string | undefined {
    this.advance();
    return this.acknowledged;
  }

  /** Highest id below which every frame has been received: where a reconnect resumes. */
  resumeFrom(): string | undefined {
    this.advance();
    return this.received;
  }

  /**
   * Whether a reconnection from resumeFrom() would skip the recover snapshot, i.e. continue in
   * the live tail. Before that, closing the stream means receiving the whole snapshot again.
   */
  pastSnapshot(): boolean {
    this.advance();
    return this.floorKey === undefined || (this.receivedKey !== undefined && compare(this.receivedKey, this.floorKey) > 0);
  }

  /** Frames received and not yet acknowledged. */
  inFlight(): number {
    return this.pendingFrames;
  }

  /** Frames the watermark still holds (pending ones and those queued behind them): its memory. */
  held(): number {
    return this.entries.length - this.barriers;
  }

  private push(entry: Entry): void {
    this.entries.push(entry);
    // Amortised: a busy stream is compacted every time the list doubles, not at every frame.
    if (this.entries.length >= this.compactAt) {
      this.advance();
      this.compactAt = Math.max(MIN_COMPACT_AT, this.entries.length * 2);
    }
  }

  private claimable(key: Key): boolean {
    return this.floorKey === undefined || compare(key, this.floorKey) > 0;
  }

  /** Recomputes both positions and forgets what can no longer matter. */
  private advance(): void {
    // For each entry: the greatest id that arrived after it, and the smallest id still pending after it.
    const n = this.entries.length;
    const laterMax: Array<Key | undefined> = new Array(n + 1);
    const laterPendingMin: Array<Key | undefined> = new Array(n + 1);
    for (let i = n - 1; i >= 0; i--) {
      const entry = this.entries[i]!;
      const max = laterMax[i + 1];
      const min = laterPendingMin[i + 1];
      laterMax[i] = max === undefined || compare(entry.key, max) > 0 ? entry.key : max;
      laterPendingMin[i] = entry.pending && (min === undefined || compare(entry.key, min) < 0) ? entry.key : min;
    }
    let allAcked = true;
    for (let i = 0; i < n; i++) {
      const entry = this.entries[i]!;
      // A pending frame holds back every later one, even one from a snapshot that is never claimed.
      if (entry.pending) allAcked = false;
      const later = laterMax[i + 1];
      const complete = entry.heartbeat || (later !== undefined && compare(later, entry.key) > 0);
      if (!complete || !this.claimable(entry.key)) continue;
      if (this.receivedKey === undefined || compare(entry.key, this.receivedKey) > 0) {
        this.received = entry.id;
        this.receivedKey = entry.key;
      }
      // Frames that share this id (or a lower one) may still be in flight after it.
      const pendingAfter = laterPendingMin[i + 1];
      const settled = pendingAfter === undefined || compare(pendingAfter, entry.key) > 0;
      if (allAcked && settled && (this.acknowledgedKey === undefined || compare(entry.key, this.acknowledgedKey) > 0)) {
        this.acknowledged = entry.id;
        this.acknowledgedKey = entry.key;
      }
    }
    // Forget the acknowledged prefix, and snapshot frames already handed over: an unclaimable id
    // can neither be saved nor complete a claimable one, and only pending frames hold anything back.
    let keepFrom = 0;
    while (keepFrom < n) {
      const entry = this.entries[keepFrom]!;
      if (entry.pending || this.acknowledgedKey === undefined || compare(entry.key, this.acknowledgedKey) > 0) break;
      keepFrom++;
    }
    const kept: Entry[] = [];
    for (let i = keepFrom; i < n; i++) {
      const entry = this.entries[i]!;
      if (entry.pending || this.claimable(entry.key)) kept.push(entry);
    }
    this.entries = kept;
  }
}
