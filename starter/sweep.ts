/**
 * The end of a replay that began with a snapshot of everything (a first run, or a "reset state"
 * in OpenCTI): every indicator workflow still running whose indicator was not in the replay is
 * told that its indicator is gone.
 *
 * Why: a snapshot holds only the objects that exist, and the live tail after it only the events
 * after its recover date. An indicator deleted while the connector was not listening (stopped,
 * then its state reset in the UI) appears in neither, so its workflow would keep the ruleset in
 * VirusTotal forever. Absence from a complete snapshot is the only news of that deletion.
 *
 * Safety: an indicator changed after the recover date is not in the snapshot either; it appears
 * in the live tail. So the sweep waits until the stream has been read up to where it stood when
 * the connection opened (the `connected` frame's `lastEventId`), not merely past the snapshot.
 * It holds the saved position at the floor until every "absent" event is with Temporal, so a
 * crash before then replays the snapshot and sweeps again. The "absent" events carry the floor as
 * their stream id: a workflow that already applied a later event ignores them.
 */
import { backoffDelay } from '../common/backoff';
import { ABSENT_FROM_SNAPSHOT, type IndicatorEvent } from '../domain/indicator';
import type { Logger } from '../common/logger';
import { compareStreamIds } from '../domain/stream-id';
import type { FrameTicket } from './watermark';

/** An indicator workflow that is still running, as the visibility store lists it. */
export interface RunningIndicator {
  internalId: string;
  name: string;
}

export interface SweepOptions {
  /** The last snapshot position: ids above it are the live tail. */
  floor: string;
  /** Holds the saved position at the floor until the sweep is with Temporal. */
  barrier: FrameTicket;
  listRunning: () => AsyncIterable<RunningIndicator>;
  /** Hands the deletes to the running workflows (never starts one). */
  submit: (events: IndicatorEvent[]) => Promise<void>;
  log: Logger;
  retryDelayMs?: (attempt: number) => number;
}

export class SnapshotSweep {
  private readonly seen = new Set<string>();
  private state: 'collecting' | 'sweeping' | 'done' | 'abandoned' = 'collecting';
  /** The stream's last id when the current connection opened: read up to it, the replay is whole. */
  private readTo: string | undefined;

  constructor(private readonly options: SweepOptions) {}

  /** An indicator the replay mentioned (snapshot or live tail): it is not absent. */
  saw(internalId: string): void {
    // Once swept (or abandoned) the set is no longer read: keeping every id the stream ever
    // carries would only grow the starter's memory.
    if (this.pending()) this.seen.add(internalId);
  }

  /** How many indicator ids are kept (memory; the set is cleared once the sweep is done). */
  remembered(): number {
    return this.seen.size;
  }

  /** Whether the position is still held for the sweep. */
  pending(): boolean {
    return this.state === 'collecting' || this.state === 'sweeping';
  }

  /**
   * A connection opened; `lastEventId` is the stream's last id then (the `connected` frame's).
   * Each new connection sets it again: a later target only makes the replay read further.
   */
  connected(lastEventId: string | undefined): void {
    this.readTo = lastEventId;
  }

  /** A frame or heartbeat with an id arrived. */
  observed(id: string, heartbeat: boolean): void {
    if (this.state !== 'collecting' || compareStreamIds(id, this.options.floor) <= 0) return;
    // Past the snapshot, and read up to where the stream stood at connection time. Without that
    // mark (a platform that does not send it), a heartbeat past the floor is the best sign left.
    const whole = this.readTo === undefined ? heartbeat : compareStreamIds(id, this.readTo) >= 0;
    if (whole) this.run();
  }

  /** The stream was replaced (another reset) or the starter stops: the position stays held. */
  abandon(): void {
    if (this.pending()) this.state = 'abandoned';
  }

  private run(): void {
    if (this.state !== 'collecting') return;
    this.state = 'sweeping';
    void this.sweep();
  }

  private async sweep(): Promise<void> {
    const { floor, log } = this.options;
    for (let attempt = 0; this.state === 'sweeping'; attempt++) {
      try {
        const absent: IndicatorEvent[] = [];
        for await (const running of this.options.listRunning()) {
          if (this.seen.has(running.internalId)) continue;
          absent.push({
            kind: 'delete',
            streamId: floor,
            source: ABSENT_FROM_SNAPSHOT,
            indicator: { internalId: running.internalId, stixId: '', name: running.name, pattern: '', detection: false, revoked: false },
          });
        }
        if (absent.length > 0) {
          log.warn('indicators absent from the replayed snapshot no longer exist in OpenCTI; removing their rulesets', {
            count: absent.length,
            internalIds: absent.slice(0, 20).map((event) => event.indicator.internalId),
          });
        } else {
          log.info('snapshot complete; every running indicator workflow was in it', { indicatorsSeen: this.seen.size });
        }
        await this.options.submit(absent);
        if (this.state !== 'sweeping') return;
        this.state = 'done';
        this.options.barrier.done();
        this.seen.clear();
        return;
      } catch (error) {
        const delay = (this.options.retryDelayMs ?? ((n: number) => backoffDelay(n, { firstMs: 1_000, maxMs: 30_000 })))(attempt);
        log.warn('could not list the running indicator workflows after the snapshot; retrying', {
          error: (error as Error).message,
          retryInMs: delay,
        });
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}
