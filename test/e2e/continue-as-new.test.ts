/**
 * Long life: the workflow continues as new (here after a lowered threshold) carrying its state,
 * and every history produced replays deterministically with the current workflow code.
 * `npx tsx test/e2e/continue-as-new.test.ts --record` refreshes test/fixtures/histories.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { temporal as temporal_api } from '@temporalio/proto';
import { indicatorWorkflowId, type IndicatorEvent } from '../../domain/indicator';
import type { DevServer } from '../../temporal/dev-server';
import { INDICATOR_WORKFLOW_TYPE, indicatorEventSignal } from '../../workflows/definitions';
import { fetchHistories, replayAll, saveHistories } from '../support/histories';
import { waitFor } from '../support/processes';
import { Stack } from '../support/stack';
import { startTestTemporal } from '../support/temporal';
import { rule } from '../support/yara';

const record = process.argv.includes('--record');

let temporal: DevServer;
let stack: Stack;

before(async () => {
  temporal = await startTestTemporal();
  stack = await Stack.start(temporal, { starter: false, env: { VIRUSTOTAL_LIVEHUNT_UPDATE_MODE: 'patch' } });
});

after(async () => {
  await stack?.stop();
  await temporal?.stop();
});

function event(internalId: string, streamId: string, name: string, body: string, detection = true): IndicatorEvent {
  return {
    kind: 'upsert',
    streamId,
    source: 'update',
    indicator: { internalId, stixId: `indicator--${streamId}`, name, pattern: rule(name, body), detection, revoked: false },
  };
}

/** Starts an indicator's workflow with its first event, as the starter does. */
function startWith(first: IndicatorEvent) {
  const { internalId } = first.indicator;
  return stack.client.workflow.signalWithStart(INDICATOR_WORKFLOW_TYPE, {
    workflowId: indicatorWorkflowId(internalId),
    taskQueue: stack.taskQueue,
    args: [{ internalId }],
    signal: indicatorEventSignal,
    signalArgs: [first],
  });
}

test('continues as new after the threshold, carrying its state; histories replay', async () => {
  const internalId = '7b0e9d2c-1f3a-4c5b-8d6e-9f0a1b2c3d4e';
  const workflowId = indicatorWorkflowId(internalId);
  const bodies = ['true', 'filesize < 1KB', 'filesize < 2KB', 'filesize < 3KB', 'filesize < 4KB'];
  const firstRun = await stack.client.workflow.signalWithStart(INDICATOR_WORKFLOW_TYPE, {
    workflowId,
    taskQueue: stack.taskQueue,
    args: [{ internalId, continueAsNewAfterEvents: 2 }],
    signal: indicatorEventSignal,
    signalArgs: [event(internalId, '100-0', 'Long_Lived', bodies[0]!)],
  });
  await stack.applied(internalId, '100-0');
  for (let i = 1; i < bodies.length; i++) {
    await stack.handle(internalId).signal(indicatorEventSignal, event(internalId, `${100 + i}-0`, 'Long_Lived', bodies[i]!));
    await stack.applied(internalId, `${100 + i}-0`);
  }
  const state = (await stack.state(internalId))!;
  assert.equal(state.eventsApplied, 5, 'the count survived the runs');
  assert.equal(state.status, 'active');
  const [ruleset] = stack.rulesetsNamed('Long_Lived');
  assert.equal(stack.vt.rulesets().length, 1);
  assert.equal(ruleset?.rules, rule('Long_Lived', 'filesize < 4KB'));
  assert.equal(state.ruleset?.id, ruleset?.id, 'the ruleset id was carried across runs');

  const current = await stack.handle(internalId).describe();
  assert.notEqual(current.runId, firstRun.signaledRunId, 'a new run');
  const firstHistory = await stack.client.workflow.getHandle(workflowId, firstRun.signaledRunId).fetchHistory();
  const types = (firstHistory.events ?? []).map((e) => e.eventType);
  assert.ok(
    types.includes(temporal_api.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW),
    `the first run ended by continuing as new (${types.join(',')})`,
  );

  // A second indicator taken through delete, to record a finished history as well.
  const other = '0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
  await startWith(event(other, '200-0', 'Short_Lived', 'true'));
  await stack.applied(other, '200-0');
  await stack
    .handle(other)
    .signal(indicatorEventSignal, { ...event(other, '201-0', 'Short_Lived', 'true'), kind: 'delete', source: 'delete' });
  await waitFor('the second workflow to finish', async () => (await stack.handle(other).describe()).status.name === 'COMPLETED');

  // A third created without detection: the version-checked step that looks for a ruleset the
  // Python connector made.
  const dormant = '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b';
  await startWith(event(dormant, '300-0', 'Never_Detected', 'true', false));
  await waitFor('the third workflow to finish', async () => (await stack.handle(dormant).describe()).status.name === 'COMPLETED');

  const histories = await fetchHistories(stack.client, [
    { workflowId, runId: firstRun.signaledRunId },
    { workflowId },
    { workflowId: indicatorWorkflowId(other) },
    { workflowId: indicatorWorkflowId(dormant) },
  ]);
  assert.deepEqual(await replayAll(histories), []);
  // Recorded under the workflow version's name: the older recordings stay, as the runs an earlier
  // version started, which must keep replaying too.
  const version = 'release-legacy-rulesets';
  if (record)
    saveHistories(
      histories,
      ['continued-as-new-first-run', 'continued-as-new-last-run', 'created-then-deleted', 'detection-false'].map(
        (name) => `${name}.${version}`,
      ),
    );
});

test('patterns near VirusTotal’s 1 MiB limit: the next run carries the rules once, and the state query answers', async () => {
  const internalId = '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a';
  // Each about 1 MB, half of it quotes that JSON escapes: 1.5 MB as stored, so two copies in one
  // payload would be over Temporal's 2 MiB limit.
  const big = (tag: string) => `${rule('Near_Limit', `filesize < ${tag}`)}\n/* ${'p"'.repeat(500_000)} */`;
  const first = {
    ...event(internalId, '400-0', 'Near_Limit', 'true'),
    indicator: { ...event(internalId, '400-0', 'Near_Limit', 'true').indicator, pattern: big('1KB') },
  };
  const run = await stack.client.workflow.signalWithStart(INDICATOR_WORKFLOW_TYPE, {
    workflowId: indicatorWorkflowId(internalId),
    taskQueue: stack.taskQueue,
    args: [{ internalId, continueAsNewAfterEvents: 1 }],
    signal: indicatorEventSignal,
    signalArgs: [first],
  });
  await stack.applied(internalId, '400-0');
  const second = { ...first, streamId: '401-0', indicator: { ...first.indicator, pattern: big('2KB') } };
  await stack.handle(internalId).signal(indicatorEventSignal, second);
  const state = await stack.applied(internalId, '401-0');
  assert.equal(state.status, 'active');
  assert.equal(state.indicator?.pattern, big('2KB'), 'the pattern is whole again in the new run');
  const description = await stack.handle(internalId).describe();
  assert.equal(description.status.name, 'RUNNING');
  assert.notEqual(description.runId, run.signaledRunId, 'it continued as new');
  assert.equal(stack.rulesetsNamed('Near_Limit').length, 1);
  assert.equal(stack.rulesetsNamed('Near_Limit')[0]?.rules, big('2KB'));
});
