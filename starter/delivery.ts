/**
 * Everything the starter asks of Temporal: hand an event to its indicator's workflow (starting it
 * when needed), list the running indicator workflows, and quarantine what Temporal refuses for good.
 * The only module of the starter that calls `signalWithStart` or lists workflows.
 */
import { isGrpcServiceError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from '../common/logger';
import { indicatorWorkflowId, internalIdOfWorkflowId, type IndicatorEvent } from '../domain/indicator';
import { MAX_INTERNAL_ID_LENGTH, truncateUtf8 } from '../domain/limits';
import {
  INDICATOR_WORKFLOW_TYPE,
  indicatorEventSignal,
  QUARANTINE_WORKFLOW_TYPE,
  quarantineEventSignal,
  quarantineWorkflowId,
  type QuarantineEntry,
} from '../workflows/definitions';
import { INDICATOR_NAME } from '../workflows/search-attributes';
import type { DeliveryOptions } from './dispatcher';
import { workflowPresentation } from './presentation';
import type { RunningIndicator } from './sweep';

/** gRPC status codes (the client surfaces the server's refusal with them). */
const INVALID_ARGUMENT = 3;
const RESOURCE_EXHAUSTED = 8;
const INTERNAL = 13;

/**
 * Whether Temporal refused the request for what it carries, so that sending it again can only
 * fail again: an invalid argument (payload over the blob limit, id too long), a message over the
 * gRPC size limit, a string that is not valid UTF-8. Everything else (unavailable, deadline,
 * rate limiting, namespace not found while an operator fixes it) is worth retrying.
 */
export function permanentRefusal(error: unknown): string | undefined {
  const cause = (error as { cause?: unknown } | undefined)?.cause ?? error;
  if (!isGrpcServiceError(cause)) return undefined;
  const detail = cause.details || cause.message;
  if (cause.code === INVALID_ARGUMENT) return detail;
  if (cause.code === RESOURCE_EXHAUSTED && /larger than max/i.test(detail)) return detail;
  if (cause.code === INTERNAL && /invalid utf-8/i.test(detail)) return detail;
  return undefined;
}

const SHORT_TEXT_BYTES = 200;

export interface TemporalDeliveryOptions {
  client: Client;
  taskQueue: string;
  /** OPENCTI_URL, for the links a workflow shows in the Web UI. */
  openctiUrl: string;
  log: Logger;
  /** Bound of one call; a hung call is then retried by the dispatcher. */
  timeoutMs: number;
}

export class TemporalDelivery {
  constructor(private readonly options: TemporalDeliveryOptions) {}

  private within<T>(body: () => Promise<T>): Promise<T> {
    return this.options.client.withDeadline(Date.now() + this.options.timeoutMs, body);
  }

  /** Hands one event to its indicator's workflow; `onlyIfRunning` never starts one. */
  async deliver(event: IndicatorEvent, { onlyIfRunning }: DeliveryOptions): Promise<void> {
    const { client, taskQueue } = this.options;
    const workflowId = indicatorWorkflowId(event.indicator.internalId);
    await this.within(async () => {
      if (!onlyIfRunning) {
        await client.workflow.signalWithStart(INDICATOR_WORKFLOW_TYPE, {
          workflowId,
          taskQueue,
          args: [{ internalId: event.indicator.internalId }],
          signal: indicatorEventSignal,
          signalArgs: [event],
          // The Web UI's summary (the indicator's name) and details (links) for this run.
          ...workflowPresentation(event, this.options.openctiUrl),
        });
        return;
      }
      try {
        await client.workflow.getHandle(workflowId).signal(indicatorEventSignal, event);
      } catch (error) {
        // No running workflow: it holds no ruleset, so there is nothing to do.
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
    });
  }

  /** Records an event Temporal refused for good in the quarantine workflow; never throws for what the event holds. */
  quarantine(event: IndicatorEvent, reason: string): Promise<void> {
    return this.record({
      internalId: truncateUtf8(event.indicator.internalId, MAX_INTERNAL_ID_LENGTH),
      name: truncateUtf8(event.indicator.name, SHORT_TEXT_BYTES),
      streamId: event.streamId,
      source: event.source,
      reason: truncateUtf8(reason, 1000),
      at: new Date().toISOString(),
    });
  }

  /** Records a stream frame that was skipped unread (too large to read): only its id is known. */
  quarantineFrame(streamId: string, reason: string): Promise<void> {
    return this.record({ internalId: '', name: '(frame not read)', streamId, source: '', reason, at: new Date().toISOString() });
  }

  private async record(entry: QuarantineEntry): Promise<void> {
    const { client, taskQueue } = this.options;
    await this.within(() =>
      client.workflow.signalWithStart(QUARANTINE_WORKFLOW_TYPE, {
        workflowId: quarantineWorkflowId(taskQueue),
        taskQueue,
        args: [],
        signal: quarantineEventSignal,
        signalArgs: [entry],
      }),
    );
  }

  /** The running indicator workflows of this task queue (Temporal visibility). */
  async *listRunning(): AsyncIterable<RunningIndicator> {
    const taskQueue = this.options.taskQueue.replace(/['\\]/g, '');
    const query = `WorkflowType = '${INDICATOR_WORKFLOW_TYPE}' AND TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`;
    for await (const execution of this.options.client.workflow.list({ query })) {
      const internalId = internalIdOfWorkflowId(execution.workflowId);
      if (internalId) yield { internalId, name: execution.typedSearchAttributes.get(INDICATOR_NAME) ?? '' };
    }
  }
}
