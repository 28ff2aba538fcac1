/**
 * The acceptance scenario of the lifecycle: every row of both seed tables and every case beyond
 * them, played at once through the OpenCTI stream while VirusTotal answers 429, 503 and
 * commit-then-504 and the worker is killed mid-burst. VirusTotal must end holding exactly one
 * correct ruleset per indicator that should have one, and nothing else.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DevServer } from '../../temporal/dev-server';
import { waitFor } from '../support/processes';
import { Stack } from '../support/stack';
import { startTestTemporal } from '../support/temporal';
import { rule } from '../support/yara';

/** What OpenCTI says about each indicator, and therefore what VirusTotal should hold. */
interface Expected {
  internalId: string;
  name: string;
  pattern: string;
  wanted: boolean;
  lastEventId: string;
}

let temporal: DevServer;
let stack: Stack;
let legacy: { id: string };
let shared: { id: string };

before(async () => {
  temporal = await startTestTemporal();
  stack = await Stack.start(temporal, {
    virusTotal: {
      latencyMs: 100,
      users: [
        { apiKey: 'vt-test-key', user: 'connector' },
        { apiKey: 'colleague-key', user: 'colleague' },
      ],
    },
    // Drop-in replacement: one ruleset the Python connector made, one a colleague shares with us.
    prepare: ({ vt }) => {
      legacy = vt.seedRuleset({ owner: 'connector', name: 'Legacy_Adopted', rules: rule('Legacy_Adopted') });
      shared = vt.seedRuleset({
        owner: 'colleague',
        name: 'Shared_By_Colleague',
        rules: rule('Shared_By_Colleague'),
        editors: [{ type: 'user', id: 'connector' }],
      });
    },
  });
});

after(async () => {
  await stack?.stop();
  await temporal?.stop();
});

test('every behaviour at once, through faults and a worker crash: VirusTotal ends exact', async () => {
  const { opencti, vt } = stack;
  const model = new Map<string, Expected>();
  const create = (name: string, pattern: string, detection = true) => {
    const { internalId, eventId } = opencti.createIndicator({ name, pattern, detection });
    model.set(internalId, { internalId, name, pattern, wanted: detection, lastEventId: eventId });
    return internalId;
  };
  const update = (
    internalId: string,
    change: { name?: string; pattern?: string; detection?: boolean; revoked?: boolean; score?: number; labels?: string[] },
  ) => {
    const entry = model.get(internalId)!;
    entry.lastEventId = opencti.updateIndicator(internalId, change);
    if (change.name !== undefined) entry.name = change.name;
    if (change.pattern !== undefined) entry.pattern = change.pattern;
    if (change.detection !== undefined) entry.wanted = change.detection;
    if (change.revoked) entry.wanted = false;
  };

  const post = '/intelligence/hunting_rulesets';
  vt.injectFault({ method: 'POST', path: post, status: 429, code: 'QuotaExceededError', retryAfterSeconds: 1, times: 3 });
  vt.injectFault({ method: 'POST', path: post, status: 503, code: 'TransientError', times: 3 });
  vt.injectFault({ method: 'POST', path: post, status: 504, code: 'DeadlineExceededError', afterCommit: true, times: 3 });

  // Bulk of plain creates, so the worker has work in flight when it is killed.
  const bulk = Array.from({ length: 25 }, (_, i) => create(`Bulk_${i}`, rule(`Bulk_${i}`)));
  const off = create('Detection_Off', rule('Detection_Off'), false);
  const flipOn = create('Flip_On', rule('Flip_On'), false);
  const flipOff = create('Flip_Off', rule('Flip_Off'));
  const edited = create('Edited', rule('Edited'));
  const labelled = create('Labelled', rule('Labelled'));
  const renamed = create('Before_Rename', rule('Renamed'));
  const revoked = create('Revoked', rule('Revoked'));
  const deleted = create('Deleted', rule('Deleted'));
  const target = create('Merge_Target', rule('Merge_Target'));
  const source = create('Merge_Source', rule('Merge_Source'));
  create('Twin', rule('Twin_A'));
  create('Twin', rule('Twin_B'));
  const broken = create('Broken_Then_Fixed', 'rule Broken_Then_Fixed { condition: ');
  create('Legacy_Adopted', rule('Legacy_Adopted'));
  create('Shared_By_Colleague', rule('Shared_By_Colleague'));

  await waitFor('the first rulesets (activities in flight)', () => vt.rulesets().length >= 8, 120_000);
  await stack.worker.kill('SIGKILL');

  update(flipOn, { detection: true });
  update(flipOff, { detection: false });
  update(edited, { pattern: rule('Edited', 'filesize < 1MB') });
  update(labelled, { score: 90, labels: ['loader'] });
  update(renamed, { name: 'After_Rename' });
  update(revoked, { revoked: true });
  model.get(deleted)!.lastEventId = opencti.deleteIndicator(deleted);
  model.get(deleted)!.wanted = false;
  const mergeId = opencti.mergeIndicators(target, [source]);
  model.get(target)!.lastEventId = mergeId;
  Object.assign(model.get(source)!, { wanted: false, lastEventId: mergeId });
  update(broken, { pattern: rule('Broken_Then_Fixed') });
  update(bulk[3]!, { detection: false });

  stack.restartWorker();
  for (const entry of model.values()) await stack.applied(entry.internalId, entry.lastEventId, 180_000);

  // Exactly: one ruleset per wanted indicator with its name and rules, plus the colleague's untouched one.
  const expected = [...model.values()].filter((entry) => entry.wanted).map((entry) => `${entry.name}\n${entry.pattern}`);
  const held = vt.rulesets().filter((ruleset) => ruleset.owner === 'connector');
  assert.deepEqual(held.map((ruleset) => `${ruleset.name}\n${ruleset.rules}`).sort(), expected.sort());
  for (const ruleset of held) {
    assert.deepEqual(
      ruleset.editors,
      [
        { type: 'user', id: 'analyst1' },
        { type: 'group', id: 'soc' },
      ],
      `${ruleset.name} is shared`,
    );
    assert.deepEqual(ruleset.notification_emails, ['soc@example.org']);
    assert.equal(ruleset.enabled, true);
  }
  assert.ok(
    held.some((ruleset) => ruleset.id === legacy.id),
    'the legacy ruleset was adopted, not duplicated',
  );
  const colleague = vt.rulesets().find((ruleset) => ruleset.id === shared.id);
  assert.deepEqual(colleague?.editors, [{ type: 'user', id: 'connector' }], 'the shared ruleset is untouched');
  assert.equal(vt.rulesets().filter((ruleset) => ruleset.owner === 'colleague').length, 1);

  const statuses = new Set(vt.requests().map((request) => request.status));
  for (const status of [429, 503, 504]) assert.ok(statuses.has(status), `VirusTotal answered ${status}`);
  assert.equal((await stack.state(off))?.status, 'inactive');
  assert.ok(
    vt.requests().every((request) => !(request.method === 'DELETE' && request.path === post)),
    'never deletes everything',
  );
});
