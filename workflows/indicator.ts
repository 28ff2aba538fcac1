/**
 * One workflow per OpenCTI YARA indicator keeps at most one Livehunt ruleset in step with it.
 *
 * Signals only enqueue; a single loop applies the queue in stream order, so the steps for an
 * indicator never interleave, and Temporal replays the loop after any crash. Events are state
 * snapshots, so when several are queued only the newest matters: intermediate states are skipped
 * rather than written to VirusTotal and undone again.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { LivehuntActivities, LivehuntSettings } from '../activities/livehunt';
import { wantsRuleset, type IndicatorEvent } from '../domain/indicator';
import { sameContent, type RulesetContent } from '../domain/ruleset';
import { compareStreamIds } from '../domain/stream-id';
import {
  indicatorEventSignal,
  reapplySignal,
  stateQuery,
  type IndicatorStatus,
  type IndicatorWorkflowInput,
  type IndicatorWorkflowState,
} from './definitions';
import { INDICATOR_ID, INDICATOR_NAME, RULESET_ID, STATUS } from './search-attributes';

const INVALID_RULE = 'InvalidRule';

const livehunt = proxyActivities<LivehuntActivities>({
  // Short enough that a worker killed mid-call is noticed quickly; each attempt makes a few
  // requests, each bounded by the client's own timeout.
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    // Capped so that once an operator fixes a key or VirusTotal recovers, work resumes quickly.
    maximumInterval: '2 minutes',
    nonRetryableErrorTypes: [INVALID_RULE],
  },
});

const local = proxyLocalActivities<LivehuntActivities>({ startToCloseTimeout: '10 seconds' });

export interface IndicatorWorkflowResult {
  internalId: string;
  status: IndicatorStatus;
  reason: string;
  lastAppliedStreamId?: string;
  lastError?: { message: string; streamId?: string };
}

/** Test seam: continue as new after this many applied events instead of when Temporal suggests. */
export interface IndicatorWorkflowOptions {
  continueAsNewAfterEvents?: number;
}

export async function indicatorWorkflow(input: IndicatorWorkflowInput & IndicatorWorkflowOptions): Promise<IndicatorWorkflowResult> {
  const queue: IndicatorEvent[] = [...(input.carried?.queue ?? [])];
  const state: IndicatorWorkflowState = input.carried?.state ?? {
    internalId: input.internalId,
    status: 'pending',
    reason: 'waiting for the first event',
    eventsApplied: 0,
    eventsSkipped: 0,
    queued: 0,
  };
  let reapplyRequested = false;
  let appliedThisRun = 0;

  setHandler(indicatorEventSignal, (event) => {
    queue.push(event);
  });
  setHandler(reapplySignal, () => {
    reapplyRequested = true;
  });
  setHandler(stateQuery, () => ({ ...state, queued: queue.length }));

  const settings: LivehuntSettings = await local.livehuntSettings();

  const published = { name: '', ruleset: '', status: '' };
  function publish(status: IndicatorStatus, reason: string): void {
    state.status = status;
    state.reason = reason;
    const name = state.indicator?.name ?? '';
    const ruleset = state.ruleset?.id ?? '';
    if (published.name === name && published.ruleset === ruleset && published.status === status) return;
    upsertSearchAttributes([
      { key: INDICATOR_ID, value: state.internalId },
      { key: INDICATOR_NAME, value: name },
      { key: RULESET_ID, value: ruleset || null },
      { key: STATUS, value: status },
    ]);
    Object.assign(published, { name, ruleset, status });
  }

  function invalidRule(error: unknown): ApplicationFailure | undefined {
    if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === INVALID_RULE) return error.cause;
    return undefined;
  }

  async function create(content: RulesetContent, adopt: boolean, streamId?: string): Promise<void> {
    try {
      const ensured = await livehunt.ensureRuleset({ internalId: state.internalId, content, adoptExisting: adopt });
      state.ruleset = { id: ensured.rulesetId, content: ensured.content };
      state.lastError = undefined;
      publish('active', ensured.outcome === 'adopted' ? 'adopted the ruleset the previous connector made' : 'ruleset created');
    } catch (error) {
      const rejected = invalidRule(error);
      if (!rejected) throw error;
      state.lastError = { message: rejected.message, streamId };
      log.warn('VirusTotal rejected the rule; waiting for a fixed pattern', { internalId: state.internalId, error: rejected.message });
      publish('invalid-rule', `VirusTotal rejected the rule: ${rejected.message}`);
    }
  }

  async function remove(status: 'inactive' | 'deleted', reason: string): Promise<void> {
    if (state.ruleset) {
      await livehunt.deleteRuleset({ internalId: state.internalId, rulesetId: state.ruleset.id });
      state.ruleset = undefined;
    }
    state.lastError = undefined;
    publish(status, reason);
  }

  /** Brings VirusTotal to what the latest event asks for. */
  async function apply(event: IndicatorEvent): Promise<void> {
    state.indicator = event.indicator;
    if (!wantsRuleset(event)) {
      if (event.kind === 'delete') return remove('deleted', `indicator ${event.source === 'merge' ? 'merged into another' : 'deleted'} in OpenCTI`);
      return remove('inactive', event.indicator.revoked ? 'indicator revoked' : 'detection is false');
    }
    const desired: RulesetContent = { name: event.indicator.name, rules: event.indicator.pattern, notificationEmails: settings.notificationEmails };
    if (!state.ruleset) return create(desired, settings.adoptExisting, event.streamId);
    if (sameContent(state.ruleset.content, desired)) {
      publish('active', 'ruleset matches the indicator');
      return;
    }
    if (settings.updateMode === 'patch') {
      try {
        const outcome = await livehunt.updateRuleset({ internalId: state.internalId, rulesetId: state.ruleset.id, content: desired });
        if (outcome === 'updated') {
          state.ruleset = { id: state.ruleset.id, content: desired };
          state.lastError = undefined;
          publish('active', 'ruleset updated in place');
          return;
        }
        state.ruleset = undefined;
      } catch (error) {
        const rejected = invalidRule(error);
        if (!rejected) throw error;
        // The old ruleset still carries the previous, valid rule; keep it running.
        state.lastError = { message: rejected.message, streamId: event.streamId };
        publish('invalid-rule', `VirusTotal rejected the new rule (the previous one stays active): ${rejected.message}`);
        return;
      }
      return create(desired, false, event.streamId);
    }
    // The seed's behaviour: delete and recreate, then share again.
    await livehunt.deleteRuleset({ internalId: state.internalId, rulesetId: state.ruleset.id });
    state.ruleset = undefined;
    return create(desired, false, event.streamId);
  }

  /** Drift repair and operator re-apply: make VirusTotal hold what the workflow says it holds. */
  async function verify(): Promise<void> {
    const indicator = state.indicator;
    if (!state.ruleset) {
      // Nothing owned: an operator's re-apply retries a rejected rule, for instance.
      if (indicator && indicator.detection && !indicator.revoked && state.status !== 'deleted') {
        await create({ name: indicator.name, rules: indicator.pattern, notificationEmails: settings.notificationEmails }, false, state.lastAppliedStreamId);
      }
      return;
    }
    const outcome = await livehunt.verifyRuleset({ internalId: state.internalId, rulesetId: state.ruleset.id, content: state.ruleset.content });
    if (outcome.status === 'missing') {
      log.warn('ruleset was deleted outside the connector; recreating it', { internalId: state.internalId, rulesetId: state.ruleset.id });
      const content = state.ruleset.content;
      state.ruleset = undefined;
      await create(content, false, state.lastAppliedStreamId);
    } else {
      publish('active', outcome.status === 'repaired' ? 'ruleset edited outside the connector was put back' : 'ruleset verified');
    }
  }

  /** Newest event not older than what was already applied; older ones and replays are dropped. */
  function takeNewest(): IndicatorEvent | undefined {
    let newest: IndicatorEvent | undefined;
    for (const event of queue.splice(0)) {
      const floor = newest?.streamId ?? state.lastAppliedStreamId;
      if (floor !== undefined && compareStreamIds(event.streamId, floor) <= 0) {
        state.eventsSkipped++;
        continue;
      }
      if (newest) state.eventsSkipped++;
      newest = event;
    }
    return newest;
  }

  for (;;) {
    const verifyEvery = state.ruleset && settings.verifyIntervalMs > 0 ? settings.verifyIntervalMs : undefined;
    const wake = () => queue.length > 0 || reapplyRequested;
    const woken = verifyEvery === undefined ? (await condition(wake), true) : await condition(wake, verifyEvery);
    if (queue.length > 0) {
      const event = takeNewest();
      if (event) {
        await apply(event);
        state.lastAppliedStreamId = event.streamId;
        state.eventsApplied++;
        appliedThisRun++;
      }
    } else if (reapplyRequested || !woken) {
      reapplyRequested = false;
      await verify();
    }

    // A rejected rule keeps the workflow open, visible as waiting for a fixed pattern (or an
    // operator's reapply); otherwise nothing owned and nothing to do means finish.
    if (!state.ruleset && queue.length === 0 && !reapplyRequested && state.status !== 'invalid-rule') {
      // A later event starts a new run.
      if (state.status === 'pending') publish('inactive', 'no detection: nothing to do');
      return { internalId: state.internalId, status: state.status, reason: state.reason, lastAppliedStreamId: state.lastAppliedStreamId, lastError: state.lastError };
    }

    const limit = input.continueAsNewAfterEvents;
    if (workflowInfo().continueAsNewSuggested || (limit !== undefined && appliedThisRun >= limit)) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof indicatorWorkflow>({
        internalId: state.internalId,
        carried: { state: { ...state, queued: queue.length }, queue: [...queue] },
        continueAsNewAfterEvents: limit,
      });
    }
  }
}
