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
 * Safety: the sweep only runs once the snapshot is complete (a frame or heartbeat past the
 * floor), and it holds the saved position at the floor until every "absent" event is with
 * Temporal, so a crash before then replays the snapshot and sweeps again. The "absent" events
 * carry the floor as their stream id: a workflow that already applied a later event ignores them.
 */
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
  /** After the first live-tail id, how long to keep collecting before sweeping (heartbeats sweep at once). */
  graceMs?: number;
  retryDelayMs?: (attempt: number) => number;
}

export class SnapshotSweep {
  private readonly seen = new Set<string>();
  private state: 'collecting' | 'sweeping' | 'done' | 'abandoned' = 'collecting';
  private graceTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SweepOptions) {}

  /** An indicator the replay mentioned (snapshot or live tail): it is not absent. */
  saw(internalId: string): void {
    this.seen.add(internalId);
  }

  /** Whether the position is still held for the sweep. */
  pending(): boolean {
    return this.state === 'collecting' || this.state === 'sweeping';
  }

  /** A frame with an id arrived; once past the floor the snapshot is complete. */
  observed(id: string, heartbeat: boolean): void {
    if (this.state !== 'collecting' || compareStreamIds(id, this.options.floor) <= 0) return;
    // A heartbeat past the floor follows a read of the live tail: most of what changed since the
    // recover date has been seen, so little is swept only to be recreated by a later live event.
    if (heartbeat) return this.run();
    this.graceTimer ??= setTimeout(() => this.run(), this.options.graceMs ?? 5_000);
  }

  /** Sweeps now; only once the snapshot is complete (the stream is about to pause, so no heartbeat comes). */
  runNow(): void {
    this.run();
  }

  /** The stream was replaced (another reset) or the starter stops: the position stays held. */
  abandon(): void {
    clearTimeout(this.graceTimer);
    if (this.pending()) this.state = 'abandoned';
  }

  private run(): void {
    if (this.state !== 'collecting') return;
    clearTimeout(this.graceTimer);
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
        const delay = (this.options.retryDelayMs ?? ((n: number) => Math.min(30_000, 1_000 * 2 ** Math.min(n, 5))))(attempt);
        log.warn('could not list the running indicator workflows after the snapshot; retrying', { error: (error as Error).message, retryInMs: delay });
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}
