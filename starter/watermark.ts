/**
 * The stream position the connector may claim: the highest id below which every frame has been
 * handed to Temporal. Saving more would lose events after a crash; saving less only replays.
 *
 * Ids are not unique per frame (dependency frames carry the id of the event that follows them,
 * heartbeats repeat ids) and resume is exclusive, so an id is only complete once a frame with a
 * greater id, or a heartbeat carrying it, has arrived. During a recover snapshot ids are not
 * ordered at all, so nothing below the live-tail floor is ever claimed.
 */
import { compareStreamIds } from '../domain/stream-id';

export interface FrameTicket {
  readonly id: string;
  /** Called once the frame's events are acknowledged by Temporal. */
  done(): void;
}

interface Entry {
  id: string;
  pending: boolean;
  heartbeat: boolean;
}

export class StreamWatermark {
  private entries: Entry[] = [];
  private acknowledged: string | undefined;
  private received: string | undefined;

  /**
   * @param start the position the stream was opened from (already safe)
   * @param floor ids at or below it belong to a recover snapshot and are never claimed
   */
  constructor(start: string | undefined, private readonly floor?: string) {
    this.acknowledged = start;
    this.received = start;
  }

  frame(id: string): FrameTicket {
    const entry: Entry = { id, pending: true, heartbeat: false };
    this.entries.push(entry);
    return { id, done: () => (entry.pending = false) };
  }

  heartbeat(id: string): void {
    this.entries.push({ id, pending: false, heartbeat: true });
  }

  private claimable(id: string): boolean {
    return this.floor === undefined || compareStreamIds(id, this.floor) > 0;
  }

  private complete(index: number, laterMax: string | undefined): boolean {
    const entry = this.entries[index]!;
    return entry.heartbeat || (laterMax !== undefined && compareStreamIds(laterMax, entry.id) > 0);
  }

  /** Recomputes both positions and forgets what can no longer matter. */
  private advance(): void {
    // For each entry: the greatest id that arrived after it, and the smallest id still pending after it.
    const n = this.entries.length;
    const laterMax: Array<string | undefined> = new Array(n + 1);
    const laterPendingMin: Array<string | undefined> = new Array(n + 1);
    for (let i = n - 1; i >= 0; i--) {
      const entry = this.entries[i]!;
      const max = laterMax[i + 1];
      const min = laterPendingMin[i + 1];
      laterMax[i] = max === undefined || compareStreamIds(entry.id, max) > 0 ? entry.id : max;
      laterPendingMin[i] = entry.pending && (min === undefined || compareStreamIds(entry.id, min) < 0) ? entry.id : min;
    }
    let allAcked = true;
    for (let i = 0; i < n; i++) {
      const entry = this.entries[i]!;
      // A pending frame holds back every later one, even one from a snapshot that is never claimed.
      if (entry.pending) allAcked = false;
      if (!this.complete(i, laterMax[i + 1]) || !this.claimable(entry.id)) continue;
      if (this.received === undefined || compareStreamIds(entry.id, this.received) > 0) this.received = entry.id;
      // Frames that share this id (or a lower one) may still be in flight after it.
      const pendingAfter = laterPendingMin[i + 1];
      const settled = pendingAfter === undefined || compareStreamIds(pendingAfter, entry.id) > 0;
      if (allAcked && settled && (this.acknowledged === undefined || compareStreamIds(entry.id, this.acknowledged) > 0)) this.acknowledged = entry.id;
    }
    // Drop the acknowledged prefix: it cannot move either position any more.
    let keepFrom = 0;
    while (keepFrom < this.entries.length) {
      const entry = this.entries[keepFrom]!;
      if (entry.pending || this.acknowledged === undefined || compareStreamIds(entry.id, this.acknowledged) > 0) break;
      keepFrom++;
    }
    if (keepFrom > 0) this.entries = this.entries.slice(keepFrom);
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

  /** Frames received and not yet acknowledged. */
  inFlight(): number {
    return this.entries.filter((entry) => entry.pending).length;
  }
}
