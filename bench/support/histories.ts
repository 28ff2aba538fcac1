/**
 * Where the time of one indicator goes, read from Temporal itself: workflow start times from
 * visibility (how fast signal-with-start got through), and from event histories the number of
 * workflow tasks and how long each step waited and ran.
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { percentile } from './stats';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

function eventMs(event: HistoryEvent): number {
  const time = event.eventTime;
  if (!time) return Number.NaN;
  return Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6);
}

export interface StartSpan {
  workflows: number;
  firstStartMs: number;
  lastStartMs: number;
  /** Workflows started per second between the first and the last start. */
  startsPerSecond: number;
}

/** Start times of every workflow on the (fresh, per-run) server: when signal-with-start got each one in. */
export async function startSpan(client: Client, query?: string): Promise<StartSpan> {
  const starts: number[] = [];
  for await (const execution of client.workflow.list(query ? { query } : {})) starts.push(execution.startTime.getTime());
  if (starts.length === 0) return { workflows: 0, firstStartMs: Number.NaN, lastStartMs: Number.NaN, startsPerSecond: Number.NaN };
  const first = Math.min(...starts);
  const last = Math.max(...starts);
  return {
    workflows: starts.length,
    firstStartMs: first,
    lastStartMs: last,
    startsPerSecond: last > first ? ((starts.length - 1) * 1000) / (last - first) : Number.NaN,
  };
}

export interface HistoryTimeline {
  workflowId: string;
  events: number;
  workflowTasks: number;
  failedWorkflowTasks: number;
  activities: number;
  localActivityMarkers: number;
  activityAttempts: number;
  startedAt: number;
  /** ms from the workflow's start to its first workflow task being picked up by a worker. */
  firstTaskWait?: number;
  /** ms the first workflow task took on the worker (it runs the local activity). */
  firstTaskRun?: number;
  /** ms from the activity being scheduled to a worker starting it (slots, pollers, rate limit). */
  activityWait?: number;
  /** ms the activity ran (its VirusTotal requests). */
  activityRun?: number;
  /** ms from the activity's completion to the next workflow task completing. */
  afterActivity?: number;
}

export function timeline(workflowId: string, events: readonly HistoryEvent[]): HistoryTimeline {
  const line: HistoryTimeline = {
    workflowId,
    events: events.length,
    workflowTasks: 0,
    failedWorkflowTasks: 0,
    activities: 0,
    localActivityMarkers: 0,
    activityAttempts: 0,
    startedAt: Number.NaN,
  };
  const taskStarts: number[] = [];
  const taskCompletions: number[] = [];
  let activityScheduled: number | undefined;
  let activityStarted: number | undefined;
  let activityCompleted: number | undefined;
  for (const event of events) {
    const at = eventMs(event);
    if (event.workflowExecutionStartedEventAttributes) line.startedAt = at;
    if (event.workflowTaskStartedEventAttributes) taskStarts.push(at);
    if (event.workflowTaskCompletedEventAttributes) {
      line.workflowTasks++;
      taskCompletions.push(at);
    }
    if (event.workflowTaskFailedEventAttributes || event.workflowTaskTimedOutEventAttributes) line.failedWorkflowTasks++;
    if (event.markerRecordedEventAttributes) line.localActivityMarkers++;
    if (event.activityTaskScheduledEventAttributes) {
      line.activities++;
      activityScheduled ??= at;
    }
    if (event.activityTaskStartedEventAttributes) {
      line.activityAttempts += event.activityTaskStartedEventAttributes.attempt ?? 1;
      activityStarted ??= at;
    }
    if (event.activityTaskCompletedEventAttributes) activityCompleted ??= at;
  }
  if (taskStarts[0] !== undefined) line.firstTaskWait = taskStarts[0] - line.startedAt;
  if (taskStarts[0] !== undefined && taskCompletions[0] !== undefined) line.firstTaskRun = taskCompletions[0] - taskStarts[0];
  if (activityScheduled !== undefined && activityStarted !== undefined) line.activityWait = activityStarted - activityScheduled;
  if (activityStarted !== undefined && activityCompleted !== undefined) line.activityRun = activityCompleted - activityStarted;
  const after = activityCompleted === undefined ? undefined : taskCompletions.find((at) => at >= activityCompleted!);
  if (activityCompleted !== undefined && after !== undefined) line.afterActivity = after - activityCompleted;
  return line;
}

export async function fetchTimelines(client: Client, workflowIds: readonly string[], concurrency = 8): Promise<HistoryTimeline[]> {
  const results: HistoryTimeline[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < workflowIds.length) {
        const workflowId = workflowIds[next++]!;
        const history = await client.workflow.getHandle(workflowId).fetchHistory();
        results.push(timeline(workflowId, history.events ?? []));
      }
    }),
  );
  return results;
}

/** Evenly spread sample of at most `size` items, first and last included. */
export function sample<T>(items: readonly T[], size: number): T[] {
  if (items.length <= size) return [...items];
  return Array.from({ length: size }, (_, i) => items[Math.round((i * (items.length - 1)) / (size - 1))]!);
}

export interface TimelineSummary {
  sampled: number;
  /** Medians per workflow. */
  events: number;
  workflowTasks: number;
  failedWorkflowTasks: number;
  activities: number;
  localActivityMarkers: number;
  activityAttempts: number;
  /** p50 and p95 in ms of each step. */
  steps: Record<string, { p50: number; p95: number }>;
}

export function summariseTimelines(lines: readonly HistoryTimeline[]): TimelineSummary {
  const p = (pick: (line: HistoryTimeline) => number | undefined, q: number) =>
    percentile(
      lines.map(pick).filter((value): value is number => value !== undefined && Number.isFinite(value)),
      q,
    );
  const step = (pick: (line: HistoryTimeline) => number | undefined) => ({ p50: p(pick, 50), p95: p(pick, 95) });
  return {
    sampled: lines.length,
    events: p((line) => line.events, 50),
    workflowTasks: p((line) => line.workflowTasks, 50),
    failedWorkflowTasks: lines.reduce((sum, line) => sum + line.failedWorkflowTasks, 0),
    activities: p((line) => line.activities, 50),
    localActivityMarkers: p((line) => line.localActivityMarkers, 50),
    activityAttempts: p((line) => line.activityAttempts, 50),
    steps: {
      firstTaskWait: step((line) => line.firstTaskWait),
      firstTaskRun: step((line) => line.firstTaskRun),
      activityWait: step((line) => line.activityWait),
      activityRun: step((line) => line.activityRun),
      afterActivity: step((line) => line.afterActivity),
    },
  };
}
