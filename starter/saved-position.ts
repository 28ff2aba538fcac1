/**
 * The stream position the starter saves as the connector state in OpenCTI: the watermark of the
 * current replay (the highest id below which Temporal has accepted everything), saved every few
 * seconds when it moved, and at least every `pingEveryMs` so OpenCTI shows the connector alive.
 * It also notices a "reset state" made in the OpenCTI UI and opens a new replay from the start,
 * with the sweep a full replay calls for (see sweep.ts).
 */
import type { ConnectorSettings } from '../config/load';
import type { Logger } from '../common/logger';
import type { IndicatorEvent } from '../domain/indicator';
import type { ConnectorState } from './opencti-api';
import { recoverParameter, replaysEverything, snapshotFloor, stateAfterReset } from './state';
import { SnapshotSweep, type RunningIndicator } from './sweep';
import { StreamWatermark } from './watermark';

export interface SavedPositionOptions {
  connector: ConnectorSettings;
  /** The state OpenCTI kept (or the first run's). */
  initial: ConnectorState;
  /** Stores a state in OpenCTI; answers what OpenCTI now holds ("" after a reset). */
  store: (state: ConnectorState) => Promise<string | null | undefined>;
  /** For the sweep: the running indicator workflows, and where its deletes go. */
  listRunning: () => AsyncIterable<RunningIndicator>;
  submitToRunning: (events: IndicatorEvent[]) => Promise<void>;
  /** Called after a reset opened a new replay: the stream must reconnect from the new position. */
  onReset: () => void;
  /** Told of each stored position (metrics: the saved position's age). */
  onSaved?: (position: string) => void;
  pingEveryMs: number;
  log: Logger;
}

export class SavedPosition {
  private state: ConnectorState;
  private current: { watermark: StreamWatermark; sweep?: SnapshotSweep };
  private saved: string | undefined;
  private lastPingAt = 0;
  private saving: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: SavedPositionOptions) {
    this.state = options.initial;
    this.current = this.openReplay(options.initial);
  }

  get watermark(): StreamWatermark {
    return this.current.watermark;
  }

  get sweep(): SnapshotSweep | undefined {
    return this.current.sweep;
  }

  /** Where the stream (re)connects from. */
  streamPosition(): { from?: string; recover?: string } {
    return { from: this.watermark.resumeFrom() ?? this.state.start_from, recover: recoverParameter(this.state) };
  }

  /** The position last saved in OpenCTI. */
  lastSaved(): string | undefined {
    return this.saved;
  }

  /** Saves the acknowledged position when it moved (or when `force`, or to ping). */
  async save(force: boolean): Promise<void> {
    const { connector, log } = this.options;
    const position = this.watermark.position() ?? this.state.start_from;
    const moved = position !== this.saved;
    if (!force && !moved && Date.now() - this.lastPingAt < this.options.pingEveryMs) return;
    const sent: ConnectorState = { ...this.state, start_from: position };
    const answer = await this.options.store(sent);
    this.lastPingAt = Date.now();
    this.saved = position;
    this.options.onSaved?.(position);
    this.state = sent;
    // Only an explicitly emptied state is a reset (the platform answers "" after one); an answer
    // this connector cannot read is not a reason to replay the whole stream.
    if ((answer === '' || answer === 'null') && !this.stopped) {
      // OpenCTI cleared the state: replay from the beginning, with a snapshot that ends where this
      // connector had got (stateAfterReset says why). Workflows drop what they already applied.
      this.state = stateAfterReset(connector, this.state, position);
      this.current.sweep?.abandon();
      this.current = this.openReplay(this.state);
      this.saved = undefined;
      log.warn('connector state was reset in OpenCTI; replaying the stream', {
        startFrom: this.state.start_from,
        recoverUntil: this.state.recover_until,
      });
      this.options.onReset();
      // Stored at once: a crash now must replay from the reset, not from nothing (a first run
      // that would not know how far this connector had got).
      await this.save(true);
    }
  }

  /** A periodic save; one at a time, failures logged (the next one tries again). */
  saveInBackground(): void {
    if (this.saving) return;
    this.saving = this.save(false)
      .catch((error: unknown) =>
        this.options.log.warn('could not save the stream position in OpenCTI', { error: (error as Error).message }),
      )
      .finally(() => (this.saving = undefined));
  }

  /** No more resets are acted on; waits for a save in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.current.sweep?.abandon();
    await this.saving;
  }

  /** The position tracker of one replay, and the sweep its snapshot calls for. */
  private openReplay(from: ConnectorState): { watermark: StreamWatermark; sweep?: SnapshotSweep } {
    const floor = snapshotFloor(from);
    const watermark = new StreamWatermark(from.start_from, floor);
    if (floor === undefined || !replaysEverything(from)) return { watermark };
    const { listRunning, submitToRunning, log } = this.options;
    const sweep = new SnapshotSweep({ floor, barrier: watermark.barrier(floor), listRunning, submit: submitToRunning, log });
    return { watermark, sweep };
  }
}
