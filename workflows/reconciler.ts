/**
 * What one indicator's workflow knows (its state) and the steps that bring VirusTotal to what the
 * indicator asks for: create, replace, patch or remove its ruleset, verify it, and publish the
 * outcome as search attributes. The workflow function around it only receives events and decides
 * when to call it.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { LivehuntActivities, LivehuntSettings } from '../activities/livehunt';
import { INVALID_RULE } from '../domain/failures';
import { ABSENT_FROM_SNAPSHOT, wantsRuleset, type IndicatorEvent, type IndicatorSnapshot } from '../domain/indicator';
import { MAX_SEARCH_ATTRIBUTE_BYTES, truncateUtf8 } from '../domain/limits';
import { sameContent, type RulesetContent } from '../domain/ruleset';
import type { IndicatorStatus, IndicatorWorkflowState } from './definitions';
import { activitySummary, currentDetails } from './presentation';
import { INDICATOR_ID, INDICATOR_NAME, RULESET_ID, STATUS } from './search-attributes';

/** Steps that make no request (the compiler's check): run in the workflow task's worker. */
const local = proxyLocalActivities<LivehuntActivities>({ startToCloseTimeout: '10 seconds' });

/** Workflow versioning: the recreate update compiles the new rule before deleting the old ruleset. */
const CHECK_BEFORE_REPLACE = 'check-before-replace';

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

/** The failure of a step VirusTotal refused for its rules text (a 400): permanent for this pattern. */
function rejectedRule(error: unknown): ApplicationFailure | undefined {
  // An activity's failure arrives wrapped in an ActivityFailure; a local activity's may not be.
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure && cause.type === INVALID_RULE ? cause : undefined;
}

function deletionReason(source: string): string {
  if (source === 'merge') return 'indicator merged into another in OpenCTI';
  // Sent by the starter when a full replay of the stream no longer contains the indicator.
  if (source === ABSENT_FROM_SNAPSHOT) return 'indicator no longer in OpenCTI (absent from a full replay of the stream)';
  return 'indicator deleted in OpenCTI';
}

function desiredContent(indicator: IndicatorSnapshot, settings: LivehuntSettings): RulesetContent {
  return { name: indicator.name, rules: indicator.pattern, notificationEmails: settings.notificationEmails };
}

export class IndicatorReconciler {
  /** What the search attributes last said, so unchanged values are not upserted again. */
  private readonly published = { name: '', ruleset: '', status: '' };

  constructor(readonly state: IndicatorWorkflowState) {
    // Shown on the workflow page in the Web UI; not part of the history, so replay is unaffected.
    setCurrentDetails(currentDetails(state));
  }

  /** Brings VirusTotal to what the event asks for. `releaseLegacy`: also look for a ruleset the Python connector made. */
  async apply(event: IndicatorEvent, settings: LivehuntSettings, releaseLegacy: boolean): Promise<void> {
    this.state.indicator = event.indicator;
    if (!wantsRuleset(event)) {
      if (releaseLegacy && settings.adoptExisting) await this.releaseLegacyRuleset(event.indicator);
      if (event.kind === 'delete') return this.removeRuleset('deleted', deletionReason(event.source));
      return this.removeRuleset('inactive', event.indicator.revoked ? 'indicator revoked' : 'detection is false');
    }
    if (event.indicator.patternRefused) return this.holdUnsent(event.indicator.patternRefused, event.streamId);
    const desired = desiredContent(event.indicator, settings);
    const owned = this.state.ruleset;
    if (!owned) return this.createRuleset(desired, settings.adoptExisting, event.streamId);
    if (sameContent(owned.content, desired)) return this.publish('active', 'ruleset matches the indicator');
    if (settings.updateMode === 'patch') return this.patchRuleset(owned.id, desired, event.streamId);
    return this.replaceRuleset(owned.id, desired, event.streamId);
  }

  /** Drift repair and operator re-apply: make VirusTotal hold what the indicator asks for. */
  async verify(settings: LivehuntSettings): Promise<void> {
    const { state } = this;
    if (state.indicator && state.status !== 'deleted') {
      const wanted: IndicatorEvent = {
        kind: 'upsert',
        streamId: state.lastAppliedStreamId ?? '0-0',
        source: 'reapply',
        indicator: state.indicator,
      };
      const desired = desiredContent(state.indicator, settings);
      // What the indicator asks for is not what VirusTotal holds (a rejected rule, changed
      // e-mails): go through the normal path again.
      if (wantsRuleset(wanted) !== (state.ruleset !== undefined) || (state.ruleset && !sameContent(state.ruleset.content, desired))) {
        return this.apply(wanted, settings, false);
      }
    }
    if (state.ruleset) await this.checkRuleset(state.ruleset.id, state.ruleset.content);
  }

  /** Nothing owned and nothing waiting for a fix: the workflow can end (a later event starts a new run). */
  done(): boolean {
    // A rejected rule keeps the workflow open, visible as waiting for a fixed pattern (or an
    // operator's reapply).
    return !this.state.ruleset && this.state.status !== 'invalid-rule';
  }

  /** Sets the status and reason, and the search attributes operators filter on. */
  publish(status: IndicatorStatus, reason: string): void {
    const { state, published } = this;
    state.status = status;
    state.reason = reason;
    setCurrentDetails(currentDetails(state));
    // Cut to fit Temporal's search attribute limit: a value over it would make the server end the
    // workflow that holds the ruleset. The full name stays in the state.
    const name = truncateUtf8(state.indicator?.name ?? '', MAX_SEARCH_ATTRIBUTE_BYTES);
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

  private async createRuleset(content: RulesetContent, adopt: boolean, streamId?: string): Promise<void> {
    const { state } = this;
    try {
      const ensured = await livehunt.ensureRuleset.executeWithOptions({ summary: activitySummary.create(content.name) }, [
        { internalId: state.internalId, content, adoptExisting: adopt },
      ]);
      state.ruleset = { id: ensured.rulesetId, content: ensured.content };
      state.lastError = ensured.shareError ? { message: `editors refused: ${ensured.shareError}`, streamId } : undefined;
      const how = ensured.outcome === 'adopted' ? 'adopted the ruleset the previous connector made' : 'ruleset created';
      this.publish('active', ensured.shareError ? `${how}; VirusTotal refused the editors (check VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS)` : how);
    } catch (error) {
      const rejected = rejectedRule(error);
      if (!rejected) throw error;
      state.lastError = { message: rejected.message, streamId };
      log.warn('VirusTotal rejected the rule; waiting for a fixed pattern', { internalId: state.internalId, error: rejected.message });
      this.publish('invalid-rule', `VirusTotal rejected the rule: ${rejected.message}`);
    }
  }

  /** The Python connector's update: delete, create again, share again. */
  private async replaceRuleset(rulesetId: string, desired: RulesetContent, streamId: string): Promise<void> {
    // A rule that cannot be sent must not cost the valid one (nor a request): checked first.
    // Versioned: runs recorded before it deleted first.
    if (patched(CHECK_BEFORE_REPLACE)) {
      try {
        await local.checkRules({ internalId: this.state.internalId, content: desired });
      } catch (error) {
        const rejected = rejectedRule(error);
        if (!rejected) throw error;
        this.state.lastError = { message: rejected.message, streamId };
        return this.publish('invalid-rule', `the new rule cannot be sent (the previous one stays active): ${rejected.message}`);
      }
    }
    const name = this.state.ruleset?.content.name;
    await livehunt.deleteRuleset.executeWithOptions({ summary: activitySummary.delete(rulesetId, name) }, [
      { internalId: this.state.internalId, rulesetId },
    ]);
    this.state.ruleset = undefined;
    return this.createRuleset(desired, false, streamId);
  }

  /** Updates in place, keeping id, editors and history; creates again if it is gone. */
  private async patchRuleset(rulesetId: string, desired: RulesetContent, streamId: string): Promise<void> {
    const { state } = this;
    try {
      const outcome = await livehunt.updateRuleset.executeWithOptions({ summary: activitySummary.update(desired.name) }, [
        { internalId: state.internalId, rulesetId, content: desired },
      ]);
      if (outcome === 'updated') {
        state.ruleset = { id: rulesetId, content: desired };
        state.lastError = undefined;
        return this.publish('active', 'ruleset updated in place');
      }
      state.ruleset = undefined;
    } catch (error) {
      const rejected = rejectedRule(error);
      if (!rejected) throw error;
      // The old ruleset still carries the previous, valid rule; keep it running.
      state.lastError = { message: rejected.message, streamId };
      return this.publish('invalid-rule', `VirusTotal rejected the new rule (the previous one stays active): ${rejected.message}`);
    }
    return this.createRuleset(desired, false, streamId);
  }

  private async removeRuleset(status: 'inactive' | 'deleted', reason: string): Promise<void> {
    const { state } = this;
    if (state.ruleset) {
      const { id: rulesetId, content } = state.ruleset;
      await livehunt.deleteRuleset.executeWithOptions({ summary: activitySummary.delete(rulesetId, content.name) }, [
        { internalId: state.internalId, rulesetId },
      ]);
      state.ruleset = undefined;
    }
    state.lastError = undefined;
    this.publish(status, reason);
  }

  /** Only an indicator that holds no ruleset here can have one the Python connector made. */
  private async releaseLegacyRuleset(indicator: IndicatorSnapshot): Promise<void> {
    const released = await livehunt.releaseLegacyRuleset.executeWithOptions({ summary: activitySummary.releaseLegacy(indicator.name) }, [
      { internalId: this.state.internalId, name: indicator.name, rules: indicator.pattern },
    ]);
    if (released === 'deleted') log.info('removed the ruleset the previous connector made', { internalId: this.state.internalId });
  }

  /** A pattern the starter did not carry (e.g. over VirusTotal's size limit): nothing is sent; a later pattern goes through. */
  private holdUnsent(reason: string, streamId: string): void {
    const { state } = this;
    state.lastError = { message: reason, streamId };
    const kept = state.ruleset ? ' (the previous one stays active)' : '';
    log.warn('rule not sent to VirusTotal; waiting for a fixed pattern', { internalId: state.internalId, error: reason });
    this.publish('invalid-rule', `rule not sent to VirusTotal${kept}: ${reason}`);
  }

  /** The drift check: the ruleset VirusTotal holds is put back if deleted or edited by hand. */
  private async checkRuleset(rulesetId: string, content: RulesetContent): Promise<void> {
    const { state } = this;
    const outcome = await livehunt.verifyRuleset.executeWithOptions({ summary: activitySummary.verify(content.name) }, [
      { internalId: state.internalId, rulesetId, content },
    ]);
    if (outcome.status === 'missing') {
      log.warn('ruleset was deleted outside the connector; recreating it', { internalId: state.internalId, rulesetId });
      state.ruleset = undefined;
      return this.createRuleset(content, false, state.lastAppliedStreamId);
    }
    if (outcome.status === 'rejected') {
      state.lastError = { message: outcome.message };
      return this.publish('invalid-rule', `ruleset edited outside the connector, and VirusTotal now rejects its rule: ${outcome.message}`);
    }
    state.lastError = outcome.shareError ? { message: `editors refused: ${outcome.shareError}` } : undefined;
    this.publish('active', outcome.status === 'repaired' ? 'ruleset edited outside the connector was put back' : 'ruleset verified');
  }
}
