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
  carried?: { state: IndicatorWorkflowState; queue: IndicatorEvent[]; reapplyRequested?: boolean };
}
