/**
 * What the starter does with each frame the live stream reads: heartbeats move the position,
 * indicator events go to the dispatcher (the frame is acknowledged once Temporal accepted them),
 * malformed and foreign frames are skipped, and a frame too large to read is skipped by its id
 * and quarantined. Every frame is then offered to back-pressure.
 */
import type { Logger } from '../common/logger';
import { isStreamId } from '../domain/stream-id';
import type { BackPressure } from './backpressure';
import type { TemporalDelivery } from './delivery';
import type { IndicatorDispatcher } from './dispatcher';
import type { StarterMetrics } from './metrics';
import { MAX_FRAME_BYTES } from './frame-limit';
import { interpretFrame, KNOWLEDGE_EVENTS, streamLastEventId } from './frames';
import type { SavedPosition } from './saved-position';

export interface FrameRouterOptions {
  position: SavedPosition;
  dispatcher: IndicatorDispatcher;
  delivery: TemporalDelivery;
  backPressure: BackPressure;
  metrics: StarterMetrics;
  log: Logger;
}

export class FrameRouter {
  constructor(private readonly options: FrameRouterOptions) {}

  /** One frame of the stream, whatever its event name; `id` is '' for frames without one. */
  onFrame(event: string, id: string, data: string): void {
    const { position, dispatcher, metrics, log } = this.options;
    metrics.frameReceived(event);
    const sweep = position.sweep;
    if (event === 'connected') sweep?.connected(streamLastEventId(data));
    if (!id) return; // frames without an id (`connected`) carry no knowledge and no position
    if (!isStreamId(id)) {
      // Not a position the platform could resume from: neither claimed nor handled.
      log.warn('skipping a frame whose id is not a stream id', { id, event });
      return;
    }
    const watermark = position.watermark;
    const meaning = interpretFrame(event, id, data);
    sweep?.observed(id, meaning.kind === 'heartbeat');
    switch (meaning.kind) {
      case 'heartbeat':
        watermark.heartbeat(id);
        break;
      case 'events': {
        const ticket = watermark.frame(id);
        for (const indicatorEvent of meaning.events) sweep?.saw(indicatorEvent.indicator.internalId);
        log.debug('frame', { id, event, indicators: meaning.events.map((e) => e.indicator.internalId) });
        if (meaning.skipped) log.warn('part of a frame could not be used', { id, event, reason: meaning.skipped });
        const receivedAt = performance.now();
        void dispatcher.submit(meaning.events, { onlyIfRunning: meaning.onlyIfRunning }).then(
          () => {
            ticket.done();
            metrics.handedToTemporal(meaning.events.length, receivedAt);
          },
          () => undefined,
        );
        break;
      }
      case 'malformed':
        log.warn('skipping a malformed frame', { id, event, reason: meaning.reason });
        // It may have been a dependency frame: the object sharing its id may still follow.
        watermark.frame(id, { final: false }).done();
        break;
      case 'ignored':
        // Dependencies and other objects are most of an unfiltered stream; only names are worth a word.
        if (!KNOWLEDGE_EVENTS.has(event)) log.debug('ignoring an event this connector does not know', { id, event });
        watermark.frame(id, { final: !meaning.dependency }).done();
        break;
    }
    this.options.backPressure.afterFrame();
  }

  /**
   * A frame too large to read, met again at every reconnection: skipped, so the stream resumes
   * after it, and quarantined by its id (nothing else of it was read).
   */
  onOversizedFrame(lastGoodId: string | undefined, frameId: string | undefined): void {
    const { position, delivery, metrics, log } = this.options;
    // Without its id there is nothing precise to skip; the stream retries with a growing delay.
    if (!frameId || !isStreamId(frameId)) return;
    log.error('skipping a live-stream frame too large to read; quarantined, the stream moves on', {
      id: frameId,
      lastGoodId,
      maxBytes: MAX_FRAME_BYTES,
    });
    // Counted as complete at once, like a heartbeat with its id: nothing after it on this
    // connection can complete it, and a frame that large is no dependency frame (those carry a
    // marking or an author, sent ahead of the object).
    position.watermark.heartbeat(frameId);
    metrics.quarantined('frame-too-large');
    delivery.quarantineFrame(frameId, `frame over ${MAX_FRAME_BYTES} bytes, skipped unread`).catch((error: unknown) =>
      log.error('could not record the skipped frame in the quarantine workflow; the log line above is its only record', {
        id: frameId,
        error: (error as Error).message,
      }),
    );
  }
}
