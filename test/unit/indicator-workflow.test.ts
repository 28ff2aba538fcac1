/**
 * The indicator workflow on Temporal's time-skipping test server, with stub activities.
 *
 * Only the workflow's public surface is used: events and reapply go in through the signals the
 * starter and operators send, the state query tells what the workflow believes, and the stub
 * records which VirusTotal steps it asked for. A 24 h check costs milliseconds: `env.sleep`
 * moves the server's clock.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { WorkflowHandle, WorkflowHandleWithSignaledRunId } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { indicatorWorkflowId, type IndicatorEvent, type IndicatorSnapshot } from '../../domain/indicator';
import {
  INDICATOR_WORKFLOW_TYPE,
  indicatorEventSignal,
  reapplySignal,
  stateQuery,
  type IndicatorWorkflowInput,
  type IndicatorWorkflowState,
} from '../../workflows/definitions';
import { routedActivities, StubLivehunt } from '../support/stub-livehunt';
import { workflowBundle } from '../support/temporal';
import { startTimeSkippingTemporal } from '../support/time-skipping';

const TASK_QUEUE = 'indicator-workflow-unit';
/** Each test's stub activities, by the workflow id of its indicator. */
const stubs = new Map<string, StubLivehunt>();
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;

before(async () => {
  env = await startTimeSkippingTemporal();
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    activities: routedActivities((workflowId) => stubs.get(workflowId)),
  });
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

/** The workflow's input, with its test seam (forcing continue-as-new after N applied events). */
type WorkflowInput = IndicatorWorkflowInput & { continueAsNewAfterEvents?: number };

interface Run {
  env: TestWorkflowEnvironment;
  stub: StubLivehunt;
  indicator: IndicatorSnapshot;
  /** Hands an event to the workflow as the starter does (signalWithStart); returns the handle of the run it reached. */
  send(event: IndicatorEvent): Promise<WorkflowHandleWithSignaledRunId>;
  /** The indicator's workflow, whatever run it is in now. */
  handle(): WorkflowHandle;
}

/** Runs `body` for one new indicator whose workflow's activities are `stub`. */
async function withIndicator(
  stub: StubLivehunt,
  body: (run: Run) => Promise<void>,
  input: Omit<WorkflowInput, 'internalId'> = {},
): Promise<void> {
  const internalId = randomUUID();
  const workflowId = indicatorWorkflowId(internalId);
  const indicator: IndicatorSnapshot = {
    internalId,
    stixId: `indicator--${randomUUID()}`,
    name: 'Emotet loader',
    pattern: 'rule emotet { condition: true }',
    detection: true,
    revoked: false,
  };
  const handle = () => env.client.workflow.getHandle(workflowId);
  stubs.set(workflowId, stub);
  try {
    await body({
      env,
      stub,
      indicator,
      send: (event) =>
        env.client.workflow.signalWithStart(INDICATOR_WORKFLOW_TYPE, {
          workflowId,
          taskQueue: TASK_QUEUE,
          args: [{ internalId, ...input } satisfies WorkflowInput],
          signal: indicatorEventSignal,
          signalArgs: [event],
        }),
      handle,
    });
  } finally {
    // The server's clock only moves while nothing is pending: a workflow left running with a
    // timer would fire in the next test's sleep and call activities nobody expects.
    const description = await handle()
      .describe()
      .catch(() => undefined);
    if (description?.status.name === 'RUNNING') await handle().terminate('test over');
    stubs.delete(workflowId);
  }
}

function upsert(
  streamId: string,
  indicator: IndicatorSnapshot,
  change: Partial<IndicatorSnapshot> = {},
  source = 'update',
): IndicatorEvent {
  return { kind: 'upsert', streamId, source, indicator: { ...indicator, ...change } };
}

function removal(streamId: string, indicator: IndicatorSnapshot, source: string): IndicatorEvent {
  return { kind: 'delete', streamId, source, indicator };
}

/**
 * Polls the state query until `ready` holds (the workflow works asynchronously from signals).
 * Each query gets a second: the test server holds a query that reaches a run just as it continues
 * as new (for about 90 s, seen here), and asking again reaches the new run at once.
 */
async function stateWhen(
  handle: WorkflowHandle,
  ready: (state: IndicatorWorkflowState) => boolean,
  what: string,
): Promise<IndicatorWorkflowState> {
  const deadline = Date.now() + 15_000;
  let last: IndicatorWorkflowState | undefined;
  for (;;) {
    const state = await env.connection.withDeadline(Date.now() + 1000, () => handle.query(stateQuery)).catch(() => undefined);
    if (state && ready(state)) return state;
    last = state ?? last;
    if (Date.now() > deadline) assert.fail(`waited in vain for ${what}; last state: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The state once the event with this stream id is applied and nothing is queued behind it. */
function applied(handle: WorkflowHandle, streamId: string): Promise<IndicatorWorkflowState> {
  return stateWhen(handle, (state) => state.lastAppliedStreamId === streamId && state.queued === 0, `event ${streamId} to be applied`);
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`waited in vain for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('indicator workflow: creating and checking', () => {
  test('creates the ruleset on the first event, and checks it again only once the verify interval (24 h) has passed', async () => {
    const stub = new StubLivehunt();
    await withIndicator(stub, async ({ env, indicator, send }) => {
      const handle = await send(upsert('1-0', indicator, {}, 'create'));
      let state = await applied(handle, '1-0');
      assert.equal(state.status, 'active');
      const content = { name: 'Emotet loader', rules: indicator.pattern, notificationEmails: ['soc@example.org'] };
      assert.deepEqual(state.ruleset, { id: 'ruleset-1', content });
      assert.deepEqual(stub.callsOf('ensureRuleset'), [{ internalId: indicator.internalId, content, adoptExisting: false }]);

      // The interval is jittered by ±10 %: nothing may happen before 21.6 h.
      await env.sleep('21 hours');
      assert.deepEqual(stub.steps(), ['ensureRuleset']);

      await env.sleep('6 hours');
      state = await stateWhen(handle, (s) => s.reason === 'ruleset verified', 'the first check');
      assert.deepEqual(stub.steps(), ['ensureRuleset', 'verifyRuleset']);
      assert.deepEqual(stub.callsOf('verifyRuleset'), [{ internalId: indicator.internalId, rulesetId: 'ruleset-1', content }]);
      assert.equal(state.status, 'active');

      // And again a day later: the check repeats for as long as the ruleset lives.
      await env.sleep('27 hours');
      await until(() => stub.callsOf('verifyRuleset').length === 2, 'the second check');
      assert.deepEqual(stub.steps(), ['ensureRuleset', 'verifyRuleset', 'verifyRuleset']);
    });
  });

  test('a ruleset deleted by hand is created again at the next check', async () => {
    const stub = new StubLivehunt();
    await withIndicator(stub, async ({ env, indicator, send }) => {
      const handle = await send(upsert('1-0', indicator, {}, 'create'));
      await applied(handle, '1-0');
      stub.rulesets.delete('ruleset-1');

      await env.sleep('27 hours');
      const state = await stateWhen(handle, (s) => s.ruleset?.id === 'ruleset-2', 'the ruleset to be recreated');
      assert.equal(state.status, 'active');
      assert.deepEqual(stub.steps(), ['ensureRuleset', 'verifyRuleset', 'ensureRuleset']);
      assert.deepEqual([...stub.rulesets.keys()], ['ruleset-2']);
    });
  });

  test('an operator reapply checks at once and puts back a ruleset edited by hand', async () => {
    const stub = new StubLivehunt();
    await withIndicator(stub, async ({ indicator, send }) => {
      const handle = await send(upsert('1-0', indicator, {}, 'create'));
      const { ruleset } = await applied(handle, '1-0');
      stub.rulesets.set('ruleset-1', { ...ruleset!.content, rules: 'rule edited_by_hand { condition: false }' });

      await handle.signal(reapplySignal);
      const state = await stateWhen(handle, (s) => s.reason === 'ruleset edited outside the connector was put back', 'the repair');
      assert.equal(state.status, 'active');
      assert.deepEqual(stub.steps(), ['ensureRuleset', 'verifyRuleset']);
      assert.deepEqual(stub.rulesets.get('ruleset-1'), ruleset!.content);
    });
  });

  test('new notification e-mails in the configuration reach a running workflow at its next check', async () => {
    const stub = new StubLivehunt();
    await withIndicator(stub, async ({ env, indicator, send, handle }) => {
      await send(upsert('1-0', indicator, {}, 'create'));
      await applied(handle(), '1-0');
      stub.settings.notificationEmails = ['hunt@example.org'];

      await env.sleep('27 hours');
      const state = await stateWhen(handle(), (s) => s.ruleset?.id === 'ruleset-2', 'the ruleset to be recreated with the new e-mails');
      assert.deepEqual(state.ruleset?.content.notificationEmails, ['hunt@example.org']);
      assert.deepEqual(stub.steps(), ['ensureRuleset', 'deleteRuleset', 'ensureRuleset']);
    });
  });

  test('adopts the ruleset the previous connector made instead of creating a second one', async () => {
    const stub = new StubLivehunt();
    stub.settings.adoptExisting = true;
    await withIndicator(stub, async ({ indicator, send }) => {
      const legacyId = stub.seedLegacy({ name: indicator.name, rules: indicator.pattern });
      const handle = await send(upsert('1-0', indicator, {}, 'create'));
      const state = await applied(handle, '1-0');
      assert.equal(state.status, 'active');
      assert.equal(state.ruleset?.id, legacyId);
      assert.match(state.reason, /adopted/);
      assert.equal(stub.callsOf('ensureRuleset')[0]?.adoptExisting, true);
      assert.deepEqual([...stub.rulesets.keys()], [legacyId]);
    });
  });
});

describe('indicator workflow: changes', () => {
  test('a rejected rule leaves the workflow waiting, visibly; the fixed pattern then goes through', async () => {
    const stub = new StubLivehunt();
    stub.rejectRules(/BROKEN/);
    await withIndicator(stub, async ({ indicator, send, handle }) => {
      await send(upsert('1-0', indicator, { pattern: 'rule BROKEN {' }, 'create'));
      let state = await applied(handle(), '1-0');
      assert.equal(state.status, 'invalid-rule');
      assert.match(state.reason, /VirusTotal rejected the rule: compile error/);
      assert.deepEqual(state.lastError, { message: 'compile error in rules: rule BROKEN {', streamId: '1-0' });
      assert.equal(state.ruleset, undefined);
      // Non-retryable: one attempt, and the workflow stays open for the next event.
      assert.equal(stub.callsOf('ensureRuleset').length, 1);
      assert.equal((await handle().describe()).status.name, 'RUNNING');

      await send(upsert('2-0', indicator));
      state = await applied(handle(), '2-0');
      assert.equal(state.status, 'active');
      assert.equal(state.lastError, undefined);
      assert.equal(state.ruleset?.content.rules, indicator.pattern);
      assert.deepEqual(
        stub.callsOf('ensureRuleset').map((input) => input.content.rules),
        ['rule BROKEN {', indicator.pattern],
      );
    });
  });

  test('an operator reapply after a rejected rule tries the create again (VirusTotal may accept it now)', async () => {
    const stub = new StubLivehunt();
    stub.rejectRules(/BROKEN/);
    await withIndicator(stub, async ({ indicator, send, handle }) => {
      await send(upsert('1-0', indicator, { pattern: 'rule BROKEN_in_their_eyes { condition: true }' }, 'create'));
      assert.equal((await applied(handle(), '1-0')).status, 'invalid-rule');
      stub.rejectRules(undefined);

      await handle().signal(reapplySignal);
      const state = await stateWhen(handle(), (s) => s.status === 'active', 'the create to be tried again');
      assert.equal(state.ruleset?.id, 'ruleset-1');
      assert.equal(state.lastError, undefined);
      assert.equal(stub.callsOf('ensureRuleset').length, 2);
    });
  });

  test('patch mode: a rejected new rule leaves the previous ruleset active', async () => {
    const stub = new StubLivehunt();
    stub.settings.updateMode = 'patch';
    stub.rejectRules(/BROKEN/);
    await withIndicator(stub, async ({ indicator, send, handle }) => {
      await send(upsert('1-0', indicator, {}, 'create'));
      await applied(handle(), '1-0');
      await send(upsert('2-0', indicator, { pattern: 'rule BROKEN {' }));
      const state = await applied(handle(), '2-0');
      assert.equal(state.status, 'invalid-rule');
      assert.match(state.reason, /the previous one stays active/);
      assert.deepEqual(state.ruleset, {
        id: 'ruleset-1',
        content: { name: indicator.name, rules: indicator.pattern, notificationEmails: ['soc@example.org'] },
      });
      assert.equal(stub.rulesets.get('ruleset-1')?.rules, indicator.pattern);
      assert.deepEqual(stub.steps(), ['ensureRuleset', 'updateRuleset']);
    });
  });

  test('recreate mode (the default): a new pattern deletes and creates; a change VirusTotal does not carry writes nothing', async () => {
    const stub = new StubLivehunt();
    await withIndicator(stub, async ({ indicator, send, handle }) => {
      await send(upsert('1-0', indicator, {}, 'create'));
      await applied(handle(), '1-0');

      await send(upsert('2-0', indicator, { stixId: 'indicator--relabelled' })); // e.g. labels or score
      let state = await applied(handle(), '2-0');
      assert.equal(state.reason, 'ruleset matches the indicator');
      assert.deepEqual(stub.steps(), ['ensureRuleset']);

      await send(upsert('3-0', indicator, { pattern: 'rule emotet_v2 { condition: true }' }));
      state = await applied(handle(), '3-0');
      assert.deepEqual(stub.steps(), ['ensureRuleset', 'deleteRuleset', 'ensureRuleset']);
      assert.deepEqual(stub.callsOf('deleteRuleset'), [{ internalId: indicator.internalId, rulesetId: 'ruleset-1' }]);
      assert.equal(state.ruleset?.id, 'ruleset-2');
      assert.equal(state.ruleset?.content.rules, 'rule emotet_v2 { condition: true }');
    });
  });

  test('recreate mode: a new rule that cannot be compiled deletes nothing; the previous ruleset stays active', async () => {
    const stub = new StubLivehunt();
    stub.rejectRules(/broken/);
    await withIndicator(stub, async ({ indicator, send, handle }) => {
      await send(upsert('1-0', indicator, {}, 'create'));
      await applied(handle(), '1-0');

      await send(upsert('2-0', indicator, { pattern: 'rule broken { condition: $nope }' }));
      const state = await applied(handle(), '2-0');
      assert.equal(state.status, 'invalid-rule');
      assert.match(state.reason, /the previous one stays active/);
      assert.equal(state.ruleset?.id, 'ruleset-1', 'the valid ruleset is kept');
      assert.deepEqual(stub.steps(), ['ensureRuleset'], 'no delete, no create');
      assert.equal(stub.callsOf('checkRules').length, 1);

      await send(upsert('3-0', indicator, { pattern: 'rule fixed { condition: true }' }));
      const fixed = await applied(handle(), '3-0');
      assert.equal(fixed.status, 'active');
      assert.deepEqual(stub.steps(), ['ensureRuleset', 'deleteRuleset', 'ensureRuleset']);
    });
  });

  test('patch mode updates in place, and creates the ruleset again when it has vanished', async () => {
    const stub = new StubLivehunt();
    stub.settings.updateMode = 'patch';
    await withIndicator(stub, async ({ indicator, send, handle }) => {
      await send(upsert('1-0', indicator, {}, 'create'));
      await applied(handle(), '1-0');

      await send(upsert('2-0', indicator, { pattern: 'rule emotet_v2 { condition: true }' }));
      let state = await applied(handle(), '2-0');
      assert.equal(state.reason, 'ruleset updated in place');
      assert.deepEqual(state.ruleset, {
        id: 'ruleset-1',
        content: { name: indicator.name, rules: 'rule emotet_v2 { condition: true }', notificationEmails: ['soc@example.org'] },
      });

      stub.rulesets.delete('ruleset-1');
      await send(upsert('3-0', indicator, { pattern: 'rule emotet_v3 { condition: true }' }));
      state = await applied(handle(), '3-0');
      assert.deepEqual(stub.steps(), ['ensureRuleset', 'updateRuleset', 'updateRuleset', 'ensureRuleset']);
      assert.equal(stub.callsOf('ensureRuleset')[1]?.adoptExisting, false);
      assert.equal(state.status, 'active');
      assert.deepEqual(state.ruleset?.id, 'ruleset-2');
      assert.equal(stub.rulesets.get('ruleset-2')?.rules, 'rule emotet_v3 { condition: true }');
    });
  });

  test('events older than the last applied one, and replays of it, are dropped (stream ids compare as numbers)', async () => {
    const stub = new StubLivehunt();
    await withIndicator(stub, async ({ indicator, send, handle }) => {
      await send(upsert('9-0', indicator, {}, 'create'));
      await applied(handle(), '9-0');

      await send(upsert('8-5', indicator, { pattern: 'rule stale { condition: true }' }));
      await send(upsert('9-0', indicator, {}, 'create'));
      let state = await stateWhen(handle(), (s) => s.eventsSkipped === 2 && s.queued === 0, 'both to be dropped');
      assert.equal(state.lastAppliedStreamId, '9-0');
      assert.equal(state.eventsApplied, 1);
      assert.deepEqual(stub.steps(), ['ensureRuleset']);

      // "10-0" sorts before "9-0" as text; it is the newer event.
      await send(upsert('10-0', indicator, { detection: false }));
      state = await applied(handle(), '10-0');
      assert.equal(state.eventsApplied, 2);
      assert.deepEqual(stub.steps(), ['ensureRuleset', 'deleteRuleset']);
    });
  });

  test('continue-as-new carries the state and the events queued behind a running step', async () => {
    const stub = new StubLivehunt();
    await withIndicator(
      stub,
      async ({ env, indicator, send, handle }) => {
        const release = stub.hold('ensureRuleset');
        const started = await send(upsert('1-0', indicator, {}, 'create'));
        const first = env.client.workflow.getHandle(started.workflowId, started.signaledRunId);
        await until(() => stub.callsOf('ensureRuleset').length === 1, 'the first create to start');
        await send(upsert('2-0', indicator, { pattern: 'rule emotet_v2 { condition: true }' }));
        await send(upsert('3-0', indicator, { pattern: 'rule emotet_v3 { condition: true }' }));
        await stateWhen(first, (s) => s.queued === 2, 'two events queued behind the create');
        release();

        const state = await applied(handle(), '3-0');
        assert.equal((await handle().describe()).status.name, 'RUNNING');
        assert.equal((await first.describe()).status.name, 'CONTINUED_AS_NEW');
        assert.notEqual((await handle().describe()).runId, started.signaledRunId);
        // Only the newest queued event is applied; the one it supersedes is counted as skipped.
        assert.equal(state.eventsApplied, 2);
        assert.equal(state.eventsSkipped, 1);
        assert.equal(state.status, 'active');
        assert.deepEqual(state.ruleset?.id, 'ruleset-2');
        assert.deepEqual(stub.steps(), ['ensureRuleset', 'deleteRuleset', 'ensureRuleset']);
        assert.equal(stub.callsOf('ensureRuleset')[1]?.content.rules, 'rule emotet_v3 { condition: true }');
      },
      { continueAsNewAfterEvents: 1 },
    );
  });
});

describe('indicator workflow: removal', () => {
  test('revoked: the ruleset is deleted (a failed delete is retried) and the workflow finishes', async () => {
    const stub = new StubLivehunt();
    stub.failNext('deleteRuleset', ApplicationFailure.create({ message: '503 from VirusTotal', type: 'VirusTotalUnavailable' }));
    await withIndicator(stub, async ({ indicator, send, handle }) => {
      await send(upsert('1-0', indicator, {}, 'create'));
      await applied(handle(), '1-0');
      await send(upsert('2-0', indicator, { revoked: true }));
      const result = await handle().result();
      assert.equal(result.status, 'inactive');
      assert.equal(result.reason, 'indicator revoked');
      assert.equal(result.lastAppliedStreamId, '2-0');
      assert.deepEqual(stub.steps(), ['ensureRuleset', 'deleteRuleset', 'deleteRuleset']);
      assert.equal(stub.rulesets.size, 0);
    });
  });

  for (const [source, reason] of [
    ['delete', 'indicator deleted in OpenCTI'],
    ['merge', 'indicator merged into another in OpenCTI'],
  ] as const) {
    test(`${source}: the ruleset is deleted and the workflow finishes`, async () => {
      const stub = new StubLivehunt();
      await withIndicator(stub, async ({ indicator, send, handle }) => {
        await send(upsert('1-0', indicator, {}, 'create'));
        await applied(handle(), '1-0');
        await send(removal('2-0', indicator, source));
        const result = await handle().result();
        assert.deepEqual({ status: result.status, reason: result.reason }, { status: 'deleted', reason });
        assert.deepEqual(stub.callsOf('deleteRuleset'), [{ internalId: indicator.internalId, rulesetId: 'ruleset-1' }]);
        assert.equal(stub.rulesets.size, 0);
      });
    });
  }

  test("detection false from the start: the previous connector's ruleset is released, nothing is created", async () => {
    const stub = new StubLivehunt();
    stub.settings.adoptExisting = true;
    await withIndicator(stub, async ({ indicator, send, handle }) => {
      stub.seedLegacy({ name: indicator.name, rules: indicator.pattern });
      await send(upsert('1-0', indicator, { detection: false }, 'create'));
      const result = await handle().result();
      assert.deepEqual({ status: result.status, reason: result.reason }, { status: 'inactive', reason: 'detection is false' });
      assert.deepEqual(stub.steps(), ['releaseLegacyRuleset']);
      assert.deepEqual(stub.callsOf('releaseLegacyRuleset'), [
        { internalId: indicator.internalId, name: indicator.name, rules: indicator.pattern },
      ]);
      assert.equal(stub.rulesets.size, 0);
    });
  });
});
