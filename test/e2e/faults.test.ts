/**
 * Crash recovery and VirusTotal faults: whatever happens, VirusTotal ends with exactly one
 * correct ruleset per indicator that should have one, and nothing else.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../support/processes';
import { Stack } from '../support/stack';
import { useTestTemporal } from '../support/temporal';
import { rule } from '../support/yara';

const temporal = useTestTemporal();

/** Exactly the expected rulesets: one per name, with the expected rules, shared; nothing else. */
function assertExactly(stack: Stack, expected: Map<string, string>): void {
  const held = stack.vt.rulesets();
  assert.deepEqual(
    held.map((r) => r.name).sort(),
    [...expected.keys()].sort(),
    'one ruleset per indicator that should have one, and nothing else',
  );
  for (const ruleset of held) {
    assert.equal(ruleset.rules, expected.get(ruleset.name), `rules of ${ruleset.name}`);
    assert.deepEqual(
      ruleset.editors,
      [
        { type: 'user', id: 'analyst1' },
        { type: 'group', id: 'soc' },
      ],
      `editors of ${ruleset.name}`,
    );
    assert.equal(ruleset.enabled, true);
  }
}

test('the worker killed (SIGKILL) with activities in flight, then restarted: exact final state', async () => {
  const stack = await Stack.start(temporal(), { virusTotal: { latencyMs: 150 } });
  try {
    await waitFor('the worker to poll', () => stack.worker.log().includes('worker polling'));
    const expected = new Map<string, string>();
    const ids: Array<{ internalId: string; eventId: string }> = [];
    for (let i = 0; i < 30; i++) {
      const name = `Crash_${i}`;
      const created = stack.opencti.createIndicator({ name, pattern: rule(name) });
      ids.push(created);
      expected.set(name, rule(name));
    }
    // Updates interleaved with the burst: some switched off, some edited.
    for (let i = 0; i < 30; i += 5) {
      const { internalId } = ids[i]!;
      ids[i] = { internalId, eventId: stack.opencti.updateIndicator(internalId, { detection: false }) };
      expected.delete(`Crash_${i}`);
    }
    for (let i = 2; i < 30; i += 7) {
      const { internalId } = ids[i]!;
      ids[i] = { internalId, eventId: stack.opencti.updateIndicator(internalId, { pattern: rule(`Crash_${i}`, 'filesize < 10KB') }) };
      expected.set(`Crash_${i}`, rule(`Crash_${i}`, 'filesize < 10KB'));
    }
    await waitFor('some rulesets to exist (activities in flight)', () => stack.vt.rulesets().length >= 5);
    await stack.worker.kill('SIGKILL');
    const atKill = stack.vt.rulesets().length;
    assert.ok(atKill < 30, `the kill happened mid-burst (${atKill} rulesets)`);
    stack.restartWorker();
    for (const { internalId, eventId } of ids) await stack.applied(internalId, eventId, 180_000);
    assertExactly(stack, expected);
    const creates = stack.vt
      .requests()
      .filter((r) => r.method === 'POST' && r.path === '/intelligence/hunting_rulesets' && r.status === 200);
    assert.ok(creates.length >= expected.size, 'every ruleset was created by the connector');
  } finally {
    await stack.stop();
  }
});

test('429 with Retry-After, 503, 502 with an HTML body and a create that commits then answers 504: no duplicate, nothing lost', async () => {
  const stack = await Stack.start(temporal());
  try {
    const create = '/intelligence/hunting_rulesets';
    stack.vt.injectFault({ method: 'POST', path: create, status: 504, code: 'DeadlineExceededError', afterCommit: true, times: 3 });
    stack.vt.injectFault({ method: 'POST', path: create, status: 429, code: 'QuotaExceededError', retryAfterSeconds: 1, times: 2 });
    stack.vt.injectFault({ method: 'POST', path: create, status: 503, code: 'TransientError', times: 2 });
    stack.vt.injectFault({ method: 'DELETE', path: create, status: 502, nonJsonBody: true, times: 1 });
    const expected = new Map<string, string>();
    const ids: Array<{ internalId: string; eventId: string }> = [];
    for (let i = 0; i < 8; i++) {
      const name = `Faulty_${i}`;
      ids.push(stack.opencti.createIndicator({ name, pattern: rule(name) }));
      expected.set(name, rule(name));
    }
    for (const { internalId, eventId } of ids) await stack.applied(internalId, eventId, 180_000);
    const gone = ids[0]!;
    await stack.applied(gone.internalId, stack.opencti.deleteIndicator(gone.internalId), 120_000);
    expected.delete('Faulty_0');
    assertExactly(stack, expected);
    const statuses = stack.vt.requests().map((r) => r.status);
    for (const status of [504, 429, 503, 502]) assert.ok(statuses.includes(status), `VirusTotal answered ${status} at least once`);
    // The committed-then-504 creates were found again, not repeated.
    const committed = stack.vt.requests().filter((r) => r.method === 'POST' && r.path === create && r.status === 504).length;
    assert.equal(committed, 3);
  } finally {
    await stack.stop();
  }
});

test('401 from VirusTotal is retried with a loud log, and nothing is dropped', async () => {
  const stack = await Stack.start(temporal());
  try {
    stack.vt.injectFault({ method: 'POST', path: '/intelligence/hunting_rulesets', status: 401, code: 'WrongCredentialsError', times: 2 });
    const { internalId, eventId } = stack.opencti.createIndicator({ name: 'Auth_Later', pattern: rule('Auth_Later') });
    await stack.applied(internalId, eventId, 120_000);
    assert.equal(stack.rulesetsNamed('Auth_Later').length, 1);
    assert.match(stack.worker.log(), /check VIRUSTOTAL_LIVEHUNT_TOKEN/);
    assert.doesNotMatch(stack.worker.log(), /vt-test-key/, 'the API key is never logged');
  } finally {
    await stack.stop();
  }
});
