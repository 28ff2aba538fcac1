/**
 * Update in place (VIRUSTOTAL_LIVEHUNT_UPDATE_MODE=patch), adoption of the rulesets the Python
 * connector made (drop-in replacement), and drift repair by the workflow's durable timer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { reapplySignal } from '../../workflows/definitions';
import { waitFor } from '../support/processes';
import { Stack } from '../support/stack';
import { useTestTemporal } from '../support/temporal';
import { rule } from '../support/yara';

const users = [
  { apiKey: 'vt-test-key', user: 'connector' },
  { apiKey: 'colleague-key', user: 'colleague' },
];

const temporal = useTestTemporal();

describe('update mode patch', () => {
  let stack: Stack;
  before(async () => {
    stack = await Stack.start(temporal(), { env: { VIRUSTOTAL_LIVEHUNT_UPDATE_MODE: 'patch' } });
  });
  after(() => stack?.stop());

  test('a pattern edit and a rename update the ruleset in place, keeping id and editors', async () => {
    const created = stack.opencti.createIndicator({ name: 'Patch_Me', pattern: rule('Patch_Me') });
    const first = await stack.applied(created.internalId, created.eventId);
    const edited = stack.opencti.updateIndicator(created.internalId, { pattern: rule('Patch_Me', 'filesize < 1MB'), name: 'Patched' });
    await stack.applied(created.internalId, edited);
    const [ruleset] = stack.rulesetsNamed('Patched');
    assert.equal(ruleset?.id, first.ruleset?.id);
    assert.equal(ruleset?.rules, rule('Patch_Me', 'filesize < 1MB'));
    assert.equal(ruleset?.editors.length, 2);
    assert.equal(stack.vt.rulesets().length, 1);
    const writes = stack.writes().map((r) => `${r.method} ${r.path.replace(/\d{6,}/, 'ID')}`);
    assert.deepEqual(writes, [
      'POST /intelligence/hunting_rulesets',
      'POST /intelligence/hunting_rulesets/ID/relationships/editors',
      'PATCH /intelligence/hunting_rulesets/ID',
    ]);
  });

  test('a rejected edit keeps the previous, valid rule running and is recorded', async () => {
    const created = stack.opencti.createIndicator({ name: 'Keep_Valid', pattern: rule('Keep_Valid') });
    await stack.applied(created.internalId, created.eventId);
    const broken = stack.opencti.updateIndicator(created.internalId, { pattern: 'rule Keep_Valid { condition:' });
    const state = await stack.applied(created.internalId, broken);
    assert.equal(state.status, 'invalid-rule');
    assert.equal(stack.rulesetsNamed('Keep_Valid')[0]?.rules, rule('Keep_Valid'));
  });
});

describe("drop-in replacement: adopting the Python connector's rulesets", () => {
  let stack: Stack;
  let legacyId: string;
  let sharedId: string;
  before(async () => {
    // Rulesets that exist before the connector starts, as the Python connector and a colleague left them.
    stack = await Stack.start(temporal(), {
      virusTotal: { users },
      prepare: ({ vt }) => {
        // Decoys share the name (and so its words) but not the rules: the lookup must read every page.
        for (let i = 0; i < 45; i++)
          vt.seedRuleset({ owner: 'connector', name: 'Legacy_Rule', rules: rule('Legacy_Rule', `filesize < ${i}KB`) });
        legacyId = vt.seedRuleset({ owner: 'connector', name: 'Legacy_Rule', rules: rule('Legacy_Rule') }).id;
        sharedId = vt.seedRuleset({
          owner: 'colleague',
          name: 'Colleague_Rule',
          rules: rule('Colleague_Rule'),
          editors: [{ type: 'user', id: 'connector' }],
        }).id;
      },
    });
  });
  after(() => stack?.stop());

  test('a ruleset owned by the account with the same name and rules is adopted, found beyond the first page', async () => {
    const legacy = { id: legacyId };
    const created = stack.opencti.createIndicator({ name: 'Legacy_Rule', pattern: rule('Legacy_Rule') });
    const state = await stack.applied(created.internalId, created.eventId);
    assert.equal(state.ruleset?.id, legacy.id);
    assert.equal(
      stack.writes().filter((r) => r.method === 'POST' && r.path === '/intelligence/hunting_rulesets').length,
      0,
      'nothing created',
    );
    assert.equal(stack.vt.rulesets().find((r) => r.id === legacy.id)?.editors.length, 2, 'shared with the configured editors');
    const pages = stack.vt.requests().filter((r) => r.method === 'GET' && r.path === '/intelligence/hunting_rulesets');
    assert.ok(pages.length >= 2 && pages.slice(1).every((r) => r.query.cursor), 'every page was read');
  });

  test('a ruleset someone else owns and shares with the account is never touched', async () => {
    const shared = { id: sharedId };
    const created = stack.opencti.createIndicator({ name: 'Colleague_Rule', pattern: rule('Colleague_Rule') });
    const state = await stack.applied(created.internalId, created.eventId);
    assert.notEqual(state.ruleset?.id, shared.id);
    const deleted = stack.opencti.deleteIndicator(created.internalId);
    await stack.applied(created.internalId, deleted);
    assert.deepEqual(
      stack.rulesetsNamed('Colleague_Rule').map((r) => r.id),
      [shared.id],
    );
    assert.ok(
      stack.writes().every((r) => !r.path.includes(shared.id)),
      'no write touched the shared ruleset',
    );
  });
});

describe('adoption turned off', () => {
  test('VIRUSTOTAL_LIVEHUNT_ADOPT_EXISTING=false creates a new ruleset', async () => {
    let legacy = { id: '' };
    const stack = await Stack.start(temporal(), {
      env: { VIRUSTOTAL_LIVEHUNT_ADOPT_EXISTING: 'false' },
      prepare: ({ vt }) => {
        legacy = vt.seedRuleset({ owner: 'connector', name: 'Not_Adopted', rules: rule('Not_Adopted') });
      },
    });
    try {
      const created = stack.opencti.createIndicator({ name: 'Not_Adopted', pattern: rule('Not_Adopted') });
      const state = await stack.applied(created.internalId, created.eventId);
      assert.notEqual(state.ruleset?.id, legacy.id);
      assert.equal(stack.rulesetsNamed('Not_Adopted').length, 2);
    } finally {
      await stack.stop();
    }
  });
});

describe('drift repair', () => {
  // The check runs every VIRUSTOTAL_LIVEHUNT_VERIFY_INTERVAL (at least a minute) or when an
  // operator sends `reapply`; both run the same verification, so the test asks for it.
  test('a ruleset deleted or edited by hand is put back at the next check', async () => {
    const stack = await Stack.start(temporal(), { env: { VIRUSTOTAL_LIVEHUNT_VERIFY_INTERVAL: '1m' } });
    try {
      const created = stack.opencti.createIndicator({ name: 'Drifting', pattern: rule('Drifting') });
      const state = await stack.applied(created.internalId, created.eventId);
      const id = state.ruleset!.id;
      const headers = { 'x-apikey': 'vt-test-key', 'content-type': 'application/json' };
      await fetch(`${stack.vt.url}/intelligence/hunting_rulesets/${id}`, {
        method: 'PATCH',
        headers,
        body: JSON.stringify({
          data: { type: 'hunting_ruleset', id, attributes: { rules: rule('Drifting', 'false'), notification_emails: [] } },
        }),
      });
      await stack.handle(created.internalId).signal(reapplySignal);
      await waitFor('the edit to be undone', () => stack.rulesetsNamed('Drifting')[0]?.rules === rule('Drifting'), 30_000);
      assert.deepEqual(stack.rulesetsNamed('Drifting')[0]?.notification_emails, ['soc@example.org']);
      await fetch(`${stack.vt.url}/intelligence/hunting_rulesets/${id}`, { method: 'DELETE', headers });
      await stack.handle(created.internalId).signal(reapplySignal);
      const recreated = await waitFor('the ruleset to be recreated', () => stack.rulesetsNamed('Drifting')[0], 30_000);
      assert.notEqual(recreated.id, id);
      assert.equal(recreated.editors.length, 2);
      const after = await waitFor('the workflow to record the new id', async () => {
        const current = await stack.state(created.internalId);
        return current?.ruleset?.id === recreated.id ? current : undefined;
      });
      assert.equal(after.status, 'active');
    } finally {
      await stack.stop();
    }
  });
});
