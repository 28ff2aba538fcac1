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
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { LivehuntActivities, LivehuntSettings } from '../activities/livehunt';
import { INVALID_RULE } from '../domain/failures';
import { ABSENT_FROM_SNAPSHOT, wantsRuleset, type IndicatorEvent, type IndicatorSnapshot } from '../domain/indicator';
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
import { activitySummary, currentDetails, DRIFT_CHECK_TIMER } from './presentation';
import { INDICATOR_ID, INDICATOR_NAME, RULESET_ID, STATUS } from './search-attributes';

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

/** Workflow versioning: the release of the Python connector's rulesets was added later; runs that started before replay without it. */
const RELEASE_LEGACY_RULESETS = 'release-legacy-rulesets';

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
  let reapplyRequested = input.carried?.reapplyRequested ?? false;
  let appliedThisRun = 0;
  // Shown on the workflow page in the Web UI; not part of the history, so replay is unaffected.
  setCurrentDetails(currentDetails(state));

  setHandler(indicatorEventSignal, (event) => {
    queue.push(event);
  });
  setHandler(reapplySignal, () => {
    reapplyRequested = true;
  });
  setHandler(stateQuery, () => ({ ...state, queued: queue.length }));

  // Read before each step, so a configuration change (e-mails, update mode...) reaches running
  // workflows at their next event or check, not years later.
  let settings: LivehuntSettings | undefined;
  const refreshSettings = async (): Promise<LivehuntSettings> => (settings = await local.livehuntSettings());

  const published = { name: '', ruleset: '', status: '' };
  function publish(status: IndicatorStatus, reason: string): void {
    state.status = status;
    state.reason = reason;
    setCurrentDetails(currentDetails(state));
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
      const ensured = await livehunt.ensureRuleset.executeWithOptions({ summary: activitySummary.create(content.name) }, [{ internalId: state.internalId, content, adoptExisting: adopt }]);
      state.ruleset = { id: ensured.rulesetId, content: ensured.content };
      state.lastError = ensured.shareError ? { message: `editors refused: ${ensured.shareError}`, streamId } : undefined;
      const how = ensured.outcome === 'adopted' ? 'adopted the ruleset the previous connector made' : 'ruleset created';
      publish('active', ensured.shareError ? `${how}; VirusTotal refused the editors (check VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS)` : how);
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
      await livehunt.deleteRuleset.executeWithOptions({ summary: activitySummary.delete(state.ruleset.id, state.ruleset.content.name) }, [{ internalId: state.internalId, rulesetId: state.ruleset.id }]);
      state.ruleset = undefined;
    }
    state.lastError = undefined;
    publish(status, reason);
  }

  function deletionReason(source: string): string {
    if (source === 'merge') return 'indicator merged into another in OpenCTI';
    // Sent by the starter when a full replay of the stream no longer contains the indicator.
    if (source === ABSENT_FROM_SNAPSHOT) return 'indicator no longer in OpenCTI (absent from a full replay of the stream)';
    return 'indicator deleted in OpenCTI';
  }

  function desiredContent(indicator: IndicatorSnapshot, current: LivehuntSettings): RulesetContent {
    return { name: indicator.name, rules: indicator.pattern, notificationEmails: current.notificationEmails };
  }

  /** Brings VirusTotal to what the latest event asks for. */
  async function apply(event: IndicatorEvent, settings: LivehuntSettings, mayReleaseLegacy: boolean): Promise<void> {
    state.indicator = event.indicator;
    if (!wantsRuleset(event)) {
      if (mayReleaseLegacy && settings.adoptExisting) {
        const released = await livehunt.releaseLegacyRuleset.executeWithOptions({ summary: activitySummary.releaseLegacy(event.indicator.name) }, [{ internalId: state.internalId, name: event.indicator.name, rules: event.indicator.pattern }]);
        if (released === 'deleted') log.info('removed the ruleset the previous connector made', { internalId: state.internalId });
      }
      if (event.kind === 'delete') return remove('deleted', deletionReason(event.source));
      return remove('inactive', event.indicator.revoked ? 'indicator revoked' : 'detection is false');
    }
    const desired = desiredContent(event.indicator, settings);
    if (!state.ruleset) return create(desired, settings.adoptExisting, event.streamId);
    if (sameContent(state.ruleset.content, desired)) {
      publish('active', 'ruleset matches the indicator');
      return;
    }
    if (settings.updateMode === 'patch') {
      try {
        const outcome = await livehunt.updateRuleset.executeWithOptions({ summary: activitySummary.update(desired.name) }, [{ internalId: state.internalId, rulesetId: state.ruleset.id, content: desired }]);
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
    await livehunt.deleteRuleset.executeWithOptions({ summary: activitySummary.delete(state.ruleset.id, state.ruleset.content.name) }, [{ internalId: state.internalId, rulesetId: state.ruleset.id }]);
    state.ruleset = undefined;
    return create(desired, false, event.streamId);
  }

  /** Drift repair and operator re-apply: make VirusTotal hold what the indicator asks for. */
  async function verify(settings: LivehuntSettings): Promise<void> {
    const indicator = state.indicator;
    if (indicator && state.status !== 'deleted') {
      const wanted: IndicatorEvent = { kind: 'upsert', streamId: state.lastAppliedStreamId ?? '0-0', source: 'reapply', indicator };
      const desired = desiredContent(indicator, settings);
      // What the indicator asks for is not what VirusTotal holds (a rejected rule, changed
      // e-mails): go through the normal path again.
      if (wantsRuleset(wanted) !== (state.ruleset !== undefined) || (state.ruleset && !sameContent(state.ruleset.content, desired))) {
        return apply(wanted, settings, false);
      }
    }
    if (!state.ruleset) return;
    const outcome = await livehunt.verifyRuleset.executeWithOptions({ summary: activitySummary.verify(state.ruleset.content.name) }, [{ internalId: state.internalId, rulesetId: state.ruleset.id, content: state.ruleset.content }]);
    if (outcome.status === 'missing') {
      log.warn('ruleset was deleted outside the connector; recreating it', { internalId: state.internalId, rulesetId: state.ruleset.id });
      const content = state.ruleset.content;
      state.ruleset = undefined;
      await create(content, false, state.lastAppliedStreamId);
    } else if (outcome.status === 'rejected') {
      state.lastError = { message: outcome.message };
      publish('invalid-rule', `ruleset edited outside the connector, and VirusTotal now rejects its rule: ${outcome.message}`);
    } else {
      state.lastError = outcome.shareError ? { message: `editors refused: ${outcome.shareError}` } : undefined;
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
    // Jittered (deterministically: the workflow's random is seeded) so rulesets created in one
    // burst are not all checked in the same minute.
    const interval = state.ruleset ? (settings ?? (await refreshSettings())).verifyIntervalMs : 0;
    const verifyEvery = interval > 0 ? Math.round(interval * (0.9 + Math.random() * 0.2)) : undefined;
    const wake = () => queue.length > 0 || reapplyRequested;
    const woken = verifyEvery === undefined ? (await condition(wake), true) : await condition(wake, verifyEvery, { summary: DRIFT_CHECK_TIMER });
    if (queue.length > 0) {
      const event = takeNewest();
      if (event) {
        // Only an indicator that holds no ruleset here can have one the Python connector made.
        // The version check comes before the settings' local activity: asked after it, in the
        // same task, a replay would meet the two markers in the other order. It is only asked on
        // this rare path, because its marker costs the create path an extra workflow task.
        const mayReleaseLegacy = !wantsRuleset(event) && !state.ruleset && Boolean(event.indicator.name && event.indicator.pattern) && patched(RELEASE_LEGACY_RULESETS);
        await apply(event, await refreshSettings(), mayReleaseLegacy);
        state.lastAppliedStreamId = event.streamId;
        state.eventsApplied++;
        appliedThisRun++;
      }
    } else if (reapplyRequested || !woken) {
      reapplyRequested = false;
      await verify(await refreshSettings());
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
        carried: { state: { ...state, queued: queue.length }, queue: [...queue], reapplyRequested },
        continueAsNewAfterEvents: limit,
      });
    }
  }
}
