/**
 * The indicator workflow's public surface: what the starter, operators and tests send and ask.
 * Imported by both sides; keep it free of heavy dependencies.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { IndicatorEvent, IndicatorSnapshot } from '../domain/indicator';
import type { RulesetContent } from '../domain/ruleset';

export const INDICATOR_WORKFLOW_TYPE = 'indicatorWorkflow';

/** One stream event for this indicator. Handlers only enqueue; the main loop applies in order. */
export const indicatorEventSignal = defineSignal<[IndicatorEvent]>('indicatorEvent');

/** Operator's "make VirusTotal match again now": re-checks and repairs the ruleset. */
export const reapplySignal = defineSignal<[]>('reapply');

export const stateQuery = defineQuery<IndicatorWorkflowState>('state');

export type IndicatorStatus =
  | 'pending' // nothing applied yet
  | 'active' // a ruleset exists and matches the indicator
  | 'inactive' // detection false or revoked: no ruleset
  | 'deleted' // the indicator is gone from OpenCTI: no ruleset
  | 'invalid-rule'; // VirusTotal rejected the rule; waiting for a fixed pattern

export interface OwnedRuleset {
  id: string;
  content: RulesetContent;
  /** Only in `state` query answers for large rules: `content.rules` was left out, it is `indicator.pattern`. */
  rulesSameAsPattern?: true;
}

export interface IndicatorWorkflowState {
  internalId: string;
  status: IndicatorStatus;
  /** Why the workflow is in this status, in words an operator can act on. */
  reason: string;
  indicator?: IndicatorSnapshot;
  ruleset?: OwnedRuleset;
  lastAppliedStreamId?: string;
  lastError?: { message: string; streamId?: string };
  eventsApplied: number;
  eventsSkipped: number;
  /** Events received and not yet applied. */
  queued: number;
}

export interface IndicatorWorkflowInput {
  internalId: string;
  /** Set when the workflow continues as new: the state and queue of the previous run. */
  carried?: {
    state: IndicatorWorkflowState;
    queue: IndicatorEvent[];
    reapplyRequested?: boolean;
    /** The indicator's pattern was left out of `state` because it is the ruleset's rules text. */
    patternIsRules?: boolean;
  };
}

export const QUARANTINE_WORKFLOW_TYPE = 'quarantineWorkflow';

/** The quarantine's workflow id: one per task queue, so connector deployments sharing a namespace keep theirs apart. */
export function quarantineWorkflowId(taskQueue: string): string {
  return `livehunt-quarantine-${taskQueue}`;
}

/** An event the starter could not hand to its indicator's workflow because Temporal refused it for good. */
export interface QuarantineEntry {
  /** OpenCTI internal id of the indicator, made safe to store (cut, lone surrogates replaced). */
  internalId: string;
  /** Indicator name, shortened. */
  name: string;
  /** Stream id of the frame: where to look, and from where a replay would bring it again. */
  streamId: string;
  /** SSE event name (create, update, delete, merge). */
  source: string;
  /** Temporal's own message. */
  reason: string;
  /** When the starter gave up on it (ISO 8601). */
  at: string;
}

export interface QuarantineState {
  /** Entries ever recorded, including those no longer kept. */
  total: number;
  entries: QuarantineEntry[];
}

export const quarantineEventSignal = defineSignal<[QuarantineEntry]>('quarantineEvent');
/** Operator: forget the entries of one indicator (its internal id), or all of them (no argument). */
export const releaseQuarantineSignal = defineSignal<[string?]>('release');
export const quarantineQuery = defineQuery<QuarantineState>('quarantine');
