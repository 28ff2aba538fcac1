/** The ceiling workflow's signal, shared by the workflow and the benchmark that signals it. */
import { defineSignal } from '@temporalio/workflow';

export const CEILING_WORKFLOW_TYPE = 'ceilingWorkflow';

export interface CeilingEvent {
  kind: 'upsert';
  streamId: string;
  source: string;
  indicator: { internalId: string; stixId: string; name: string; pattern: string; detection: boolean; revoked: boolean };
}

/** Same name and a payload of the same shape and size as the connector's indicator event. */
export const ceilingEventSignal = defineSignal<[CeilingEvent]>('indicatorEvent');

export interface CeilingWorkflowInput {
  internalId: string;
  /** Upsert the connector's four keyword search attributes after the activity, as it does. */
  searchAttributes: boolean;
}
