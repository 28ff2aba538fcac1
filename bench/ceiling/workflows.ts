/**
 * The ceiling's workflow: the same Temporal work as the connector's indicator workflow for one
 * new indicator, with nothing else. Started by signal-with-start; a local activity at run start;
 * one activity once the signal is in; then (optionally) the same search-attribute upsert, and the
 * same wait for the next event with a 24 h timer (the connector's verify interval).
 */
import { condition, proxyActivities, proxyLocalActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { CeilingActivities } from './activities';
import { INDICATOR_ID, INDICATOR_NAME, RULESET_ID, STATUS } from '../../workflows/search-attributes';
import { ceilingEventSignal, type CeilingEvent, type CeilingWorkflowInput } from './definitions';

const local = proxyLocalActivities<CeilingActivities>({ startToCloseTimeout: '10 seconds' });
const remote = proxyActivities<CeilingActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '2 minutes' },
});

export async function ceilingWorkflow(input: CeilingWorkflowInput): Promise<void> {
  const queue: CeilingEvent[] = [];
  setHandler(ceilingEventSignal, (event) => {
    queue.push(event);
  });
  await local.settings();
  await condition(() => queue.length > 0);
  const event = queue.splice(0).pop()!;
  const rulesetId = await remote.apply(event.indicator.internalId);
  if (input.searchAttributes) {
    upsertSearchAttributes([
      { key: INDICATOR_ID, value: input.internalId },
      { key: INDICATOR_NAME, value: event.indicator.name },
      { key: RULESET_ID, value: rulesetId },
      { key: STATUS, value: 'active' },
    ]);
  }
  await condition(() => queue.length > 0, '24 hours');
}
