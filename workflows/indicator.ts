/**
 * One workflow per OpenCTI YARA indicator keeps at most one Livehunt ruleset in step with it.
 *
 * Signals only enqueue; a single loop applies the queue in stream order, so the steps for an
 * indicator never interleave, and Temporal replays the loop after any crash. Events are state
 * snapshots, so when several are queued only the newest matters: intermediate states are skipped
 * rather than written to VirusTotal and undone again. The steps themselves are the reconciler's.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { LivehuntActivities, LivehuntSettings } from '../activities/livehunt';
import { wantsRuleset, type IndicatorEvent } from '../domain/indicator';
import { pack, unpack, view } from './carry';
import { indicatorEventSignal, reapplySignal, stateQuery, type IndicatorStatus, type IndicatorWorkflowInput } from './definitions';
import { EventQueue } from './event-queue';
import { DRIFT_CHECK_TIMER } from './presentation';
import { IndicatorReconciler } from './reconciler';

const local = proxyLocalActivities<LivehuntActivities>({ startToCloseTimeout: '10 seconds' });

/** Workflow versioning: the release of the Python connector's rulesets was added later; runs that started before replay without it. */
const RELEASE_LEGACY_RULESETS = 'release-legacy-rulesets';
/** Workflow versioning: queued events are applied before continuing as new (see the loop). */
const DRAIN_BEFORE_CONTINUE_AS_NEW = 'drain-before-continue-as-new';

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
  const queue = new EventQueue(input.carried?.queue);
  const reconciler = new IndicatorReconciler(
    unpack(input.carried) ?? {
      internalId: input.internalId,
      status: 'pending',
      reason: 'waiting for the first event',
      eventsApplied: 0,
      eventsSkipped: 0,
      queued: 0,
    },
  );
  const { state } = reconciler;
  let reapplyRequested = input.carried?.reapplyRequested ?? false;
  let appliedThisRun = 0;

  setHandler(indicatorEventSignal, (event) => queue.push(event));
  setHandler(reapplySignal, () => {
    reapplyRequested = true;
  });
  setHandler(stateQuery, () => view(state, queue.length));

  // Read before each step, so a configuration change (e-mails, update mode...) reaches running
  // workflows at their next event or check, not years later.
  let settings: LivehuntSettings | undefined;
  const refreshSettings = async (): Promise<LivehuntSettings> => (settings = await local.livehuntSettings());

  async function applyNewest(): Promise<void> {
    const { event, dropped } = queue.takeNewest(state.lastAppliedStreamId);
    state.eventsSkipped += dropped;
    if (!event) return;
    // The version check comes before the settings' local activity: asked after it, in the same
    // task, a replay would meet the two markers in the other order. It is only asked on this rare
    // path (no ruleset held here, so maybe one the Python connector made), because its marker
    // costs the create path an extra workflow task.
    const releaseLegacy = mayHoldLegacyRuleset(event) && patched(RELEASE_LEGACY_RULESETS);
    await reconciler.apply(event, await refreshSettings(), releaseLegacy);
    state.lastAppliedStreamId = event.streamId;
    state.eventsApplied++;
    appliedThisRun++;
  }

  function mayHoldLegacyRuleset(event: IndicatorEvent): boolean {
    return !wantsRuleset(event) && !state.ruleset && Boolean(event.indicator.name && event.indicator.pattern);
  }

  for (;;) {
    // Jittered (deterministically: the workflow's random is seeded) so rulesets created in one
    // burst are not all checked in the same minute.
    const interval = state.ruleset ? (settings ?? (await refreshSettings())).verifyIntervalMs : 0;
    const verifyEvery = interval > 0 ? Math.round(interval * (0.9 + Math.random() * 0.2)) : undefined;
    const wake = () => queue.length > 0 || reapplyRequested;
    const woken =
      verifyEvery === undefined ? (await condition(wake), true) : await condition(wake, verifyEvery, { summary: DRIFT_CHECK_TIMER });
    if (queue.length > 0) {
      await applyNewest();
    } else if (reapplyRequested || !woken) {
      reapplyRequested = false;
      await reconciler.verify(await refreshSettings());
    }

    if (reconciler.done() && queue.length === 0 && !reapplyRequested) {
      if (state.status === 'pending') reconciler.publish('inactive', 'no detection: nothing to do');
      return {
        internalId: state.internalId,
        status: state.status,
        reason: state.reason,
        lastAppliedStreamId: state.lastAppliedStreamId,
        lastError: state.lastError,
      };
    }

    const limit = input.continueAsNewAfterEvents;
    if (workflowInfo().continueAsNewSuggested || (limit !== undefined && appliedThisRun >= limit)) {
      // Apply what arrived meanwhile first: the next run's input then carries no queued pattern
      // beside the ruleset's (each up to 1 MiB, against Temporal's 2 MiB payload limit). Versioned:
      // runs recorded before it continued as new with their queue.
      if (queue.length > 0 && patched(DRAIN_BEFORE_CONTINUE_AS_NEW)) continue;
      await condition(allHandlersFinished);
      await continueAsNew<typeof indicatorWorkflow>({
        internalId: state.internalId,
        carried: pack(state, queue.contents(), reapplyRequested),
        continueAsNewAfterEvents: limit,
      });
    }
  }
}
