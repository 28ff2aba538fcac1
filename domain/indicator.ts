/**
 * The domain vocabulary shared by the starter, the workflow and the activities.
 * Pure types and functions, no dependencies: workflow code imports this module.
 */

/** What the connector knows of a YARA indicator at one point of the stream. */
export interface IndicatorSnapshot {
  /** OpenCTI internal id: stable across pattern edits, the key of everything. */
  internalId: string;
  /** STIX id, informational only: it changes when the pattern changes. */
  stixId: string;
  name: string;
  pattern: string;
  detection: boolean;
  revoked: boolean;
  /**
   * Set when the starter did not carry the pattern (`pattern` is then empty) because it can never
   * become a ruleset, e.g. it is over VirusTotal's size limit: the reason, for the workflow to show.
   */
  patternRefused?: string;
}

/**
 * One change to one indicator, as the starter hands it to the indicator's workflow.
 * `upsert` carries the indicator as it now is; `delete` means it is gone (deleted, merged away).
 */
export interface IndicatorEvent {
  kind: 'upsert' | 'delete';
  /** Id of the stream frame the event came from; orders events and makes replays harmless. */
  streamId: string;
  /** SSE event name it came from (create, update, delete, merge), for operators. */
  source: string;
  indicator: IndicatorSnapshot;
}

/**
 * The `source` of a delete the starter makes up: a full replay of the stream (first run, state
 * reset) ended without this indicator, so it was deleted while the connector was not listening.
 */
export const ABSENT_FROM_SNAPSHOT = 'absent-from-snapshot';

/** Whether OpenCTI asks for a Livehunt ruleset for this indicator. */
export function wantsRuleset(event: IndicatorEvent): boolean {
  return event.kind === 'upsert' && event.indicator.detection && !event.indicator.revoked;
}

/** Workflow ids are derived from the internal id, never from the STIX id or the name. */
const WORKFLOW_ID_PREFIX = 'livehunt-indicator-';

export function indicatorWorkflowId(internalId: string): string {
  return `${WORKFLOW_ID_PREFIX}${internalId}`;
}

/** The internal id an indicator workflow id was derived from; undefined for any other id. */
export function internalIdOfWorkflowId(workflowId: string): string | undefined {
  return workflowId.startsWith(WORKFLOW_ID_PREFIX) && workflowId.length > WORKFLOW_ID_PREFIX.length
    ? workflowId.slice(WORKFLOW_ID_PREFIX.length)
    : undefined;
}
