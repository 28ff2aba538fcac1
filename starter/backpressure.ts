/**
 * Bounds what the starter holds in memory while Temporal is slow or unreachable: past
 * `maxBuffered` waiting frames the stream is closed, and it is reopened from the received
 * position once deliveries have caught up with half of it. Never during a recover snapshot,
 * which a reconnection would send again from its beginning.
 */
import type { Logger } from '../common/logger';
import type { StreamWatermark } from './watermark';

export interface Pausable {
  pause(): void;
  resume(): void;
  isPaused(): boolean;
}

export interface BackPressureOptions {
  stream: Pausable;
  /** The current replay's position tracker (it changes after a reset). */
  watermark: () => StreamWatermark;
  /** Events handed to the dispatcher and not yet accepted by Temporal. */
  pendingDeliveries: () => number;
  maxBuffered: number;
  /** Told of each pause (metrics). */
  onPause?: () => void;
  log: Logger;
}

export class BackPressure {
  private nextPauseAttempt = 0;

  constructor(private readonly options: BackPressureOptions) {}

  /** Frames waiting: undelivered events, or received frames not yet acknowledged. */
  buffered(): number {
    const watermark = this.options.watermark();
    watermark.position(); // forgets what was acknowledged, so held() is current
    return Math.max(this.options.pendingDeliveries(), watermark.held());
  }

  /** After each frame: pauses the stream when too much waits. */
  afterFrame(): void {
    const { stream, maxBuffered, log } = this.options;
    if (stream.isPaused() || Date.now() < this.nextPauseAttempt || this.buffered() < maxBuffered) return;
    this.nextPauseAttempt = Date.now() + 1_000;
    const watermark = this.options.watermark();
    if (!watermark.pastSnapshot()) return;
    const waiting = this.buffered();
    stream.pause();
    this.options.onPause?.();
    log.warn('too many stream events waiting for Temporal; pausing the stream', {
      buffered: waiting,
      maxBuffered,
      resumeFrom: watermark.resumeFrom(),
    });
  }

  /** Periodically: resumes a paused stream once deliveries caught up. */
  check(): void {
    const { stream, maxBuffered, log, pendingDeliveries } = this.options;
    if (!stream.isPaused()) return;
    const watermark = this.options.watermark();
    const waiting = this.buffered();
    const caughtUp = pendingDeliveries() === 0 && watermark.inFlight() === 0;
    if (!caughtUp && waiting > maxBuffered / 2) return;
    log.info('deliveries caught up; resuming the stream', { pending: pendingDeliveries(), resumeFrom: watermark.resumeFrom() });
    stream.resume();
  }
}
