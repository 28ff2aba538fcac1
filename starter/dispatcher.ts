/**
 * Hands indicator events to their workflows. Events of different indicators travel in parallel
 * (up to a bound); events of one indicator are chained, so they never overtake each other.
 * Delivery is retried until Temporal accepts it, and a frame is only acknowledged once every
 * event it carried has been accepted. The one exception is an event Temporal refuses for what it
 * carries (sending it again can only fail again): it is quarantined, so one poison event never
 * stalls the stream.
 */
import type { IndicatorEvent } from '../domain/indicator';
import { backoffDelay } from '../common/backoff';
import type { Logger } from '../common/logger';
import { MAX_INTERNAL_ID_LENGTH, truncateUtf8 } from '../domain/limits';

export interface DeliveryOptions {
  /**
   * Only to a workflow that is running; none is started. For events that can only matter to a
   * workflow holding a ruleset (a deleted indicator that is no longer YARA, a sweep's deletes).
   */
  onlyIfRunning?: boolean;
}

export type Deliver = (event: IndicatorEvent, options: DeliveryOptions) => Promise<void>;

export interface DispatcherOptions {
  deliver: Deliver;
  maxInFlight: number;
  log: Logger;
  /** Why Temporal refused a delivery for good, or undefined when retrying may succeed. */
  permanentRefusal?: (error: unknown) => string | undefined;
  /** Records an event Temporal refused for good; the event then counts as handled. */
  quarantine?: (event: IndicatorEvent, reason: string) => Promise<void>;
  /** Backoff between delivery attempts; tests shorten it. */
  retryDelayMs?: (attempt: number) => number;
}

const defaultDelay = (attempt: number) => backoffDelay(attempt, { firstMs: 250, maxMs: 30_000, jitter: true });

export class IndicatorDispatcher {
  private readonly tails = new Map<string, Promise<void>>();
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private pendingCount = 0;
  private stopping = false;
  private quarantinedCount = 0;

  constructor(private readonly options: DispatcherOptions) {}

  /** Resolves when every event has been accepted by Temporal, in per-indicator order. */
  submit(events: IndicatorEvent[], options: DeliveryOptions = {}): Promise<void> {
    return Promise.all(events.map((event) => this.enqueue(event, options))).then(() => undefined);
  }

  /** Events accepted by submit() and not yet delivered. */
  pending(): number {
    return this.pendingCount;
  }

  /** Events Temporal refused for good since start. */
  quarantined(): number {
    return this.quarantinedCount;
  }

  /** Stops retrying: undelivered events stay unacknowledged and are replayed after restart. */
  stop(): void {
    this.stopping = true;
  }

  private enqueue(event: IndicatorEvent, options: DeliveryOptions): Promise<void> {
    const key = event.indicator.internalId;
    this.pendingCount++;
    const previous = this.tails.get(key) ?? Promise.resolve();
    const delivered = previous.then(() => this.deliverWithRetry(event, options)).finally(() => this.pendingCount--);
    const tail = delivered.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return delivered;
  }

  private async slot(): Promise<void> {
    if (this.active < this.options.maxInFlight) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  private async deliverWithRetry(event: IndicatorEvent, options: DeliveryOptions): Promise<void> {
    await this.slot();
    try {
      for (let attempt = 0; ; attempt++) {
        if (this.stopping) throw new Error('dispatcher stopped');
        try {
          await this.options.deliver(event, options);
          return;
        } catch (error) {
          const refusal = this.options.permanentRefusal?.(error);
          if (refusal !== undefined) return await this.setAside(event, refusal);
          const delay = (this.options.retryDelayMs ?? defaultDelay)(attempt);
          this.options.log.warn('could not hand an event to Temporal; retrying', {
            internalId: event.indicator.internalId,
            streamId: event.streamId,
            attempt: attempt + 1,
            retryInMs: Math.round(delay),
            error: (error as Error).message,
          });
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
    } finally {
      this.release();
    }
  }

  private async setAside(event: IndicatorEvent, reason: string): Promise<void> {
    this.quarantinedCount++;
    const { internalId, name } = event.indicator;
    this.options.log.error('Temporal refused an event for good; quarantined, the stream moves on', {
      internalId: truncateUtf8(internalId, MAX_INTERNAL_ID_LENGTH),
      name: truncateUtf8(name, 200),
      streamId: event.streamId,
      source: event.source,
      temporal: reason,
    });
    for (let attempt = 0; this.options.quarantine && !this.stopping; attempt++) {
      try {
        await this.options.quarantine(event, reason);
        return;
      } catch (error) {
        // The record is small and safe; only an outage stops it. The log line above already holds it.
        if (attempt >= 5 || this.options.permanentRefusal?.(error) !== undefined) {
          this.options.log.error('could not record the event in the quarantine workflow; the log line above is its only record', {
            streamId: event.streamId,
            error: (error as Error).message,
          });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, (this.options.retryDelayMs ?? defaultDelay)(attempt)));
      }
    }
  }
}
