/**
 * The events a workflow has received and not applied yet. Events are snapshots of the indicator,
 * so only the newest matters: the ones it supersedes, and replays of what was already applied
 * (stream ids are ordered), are dropped and counted.
 */
import type { IndicatorEvent } from '../domain/indicator';
import { compareStreamIds } from '../domain/stream-id';

export class EventQueue {
  private readonly events: IndicatorEvent[];

  constructor(carried: IndicatorEvent[] = []) {
    this.events = [...carried];
  }

  push(event: IndicatorEvent): void {
    this.events.push(event);
  }

  get length(): number {
    return this.events.length;
  }

  contents(): IndicatorEvent[] {
    return [...this.events];
  }

  /** Empties the queue; the newest event after `applied`, if any, and how many were dropped. */
  takeNewest(applied: string | undefined): { event?: IndicatorEvent; dropped: number } {
    let newest: IndicatorEvent | undefined;
    let dropped = 0;
    for (const event of this.events.splice(0)) {
      const floor = newest?.streamId ?? applied;
      if (floor !== undefined && compareStreamIds(event.streamId, floor) <= 0) {
        dropped++;
        continue;
      }
      if (newest) dropped++;
      newest = event;
    }
    return { event: newest, dropped };
  }
}
