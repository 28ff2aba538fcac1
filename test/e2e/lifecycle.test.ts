/**
 * Every row of the seed's "Event Processing" and "Detection Flag Behavior" tables, and the cases
 * the seed leaves out, driven through the OpenCTI stream and observed in VirusTotal.
 * Default update mode: delete and recreate, as the seed describes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DevServer } from '../../temporal/dev-server';
import { waitFor } from '../support/processes';
import { Stack } from '../support/stack';
import { startTestTemporal } from '../support/temporal';
import { rule } from '../support/yara';

let temporal: DevServer;
let stack: Stack;

before(async () => {
  temporal = await startTestTemporal();
  stack = await Stack.start(temporal);
});

after(async () => {
  await stack?.stop();
  await temporal?.stop();
});

describe('seed: Event Processing and Detection Flag Behavior', () => {
  test('create, detection true, no ruleset: creates it', async () => {
    const { internalId, eventId } = stack.opencti.createIndicator({ name: 'Seed_Create', pattern: rule('Seed_Create') });
    const state = await stack.applied(internalId, eventId);
    const [ruleset] = stack.rulesetsNamed('Seed_Create');
    assert.equal(state.status, 'active');
    assert.equal(state.ruleset?.id, ruleset?.id);
    assert.equal(ruleset?.rules, rule('Seed_Create'));
    assert.deepEqual(ruleset?.editors, [
      { type: 'user', id: 'analyst1' },
      { type: 'group', id: 'soc' },
    ]);
  });

  test('create, detection false: no action', async () => {
    const { internalId, eventId } = stack.opencti.createIndicator({ name: 'Seed_Off', pattern: rule('Seed_Off'), detection: false });
    const state = await stack.applied(internalId, eventId);
    assert.equal(state.status, 'inactive');
    assert.equal(stack.rulesetsNamed('Seed_Off').length, 0);
  });

  test('update, detection changed to true: creates the ruleset', async () => {
    const { internalId } = stack.opencti.createIndicator({ name: 'Seed_Flip_On', pattern: rule('Seed_Flip_On'), detection: false });
    const eventId = stack.opencti.updateIndicator(internalId, { detection: true });
    const state = await stack.applied(internalId, eventId);
    assert.equal(state.status, 'active');
    assert.equal(stack.rulesetsNamed('Seed_Flip_On').length, 1);
  });

  test('update, detection changed to false: deletes the ruleset', async () => {
    const created = stack.opencti.createIndicator({ name: 'Seed_Flip_Off', pattern: rule('Seed_Flip_Off') });
    await stack.applied(created.internalId, created.eventId);
    assert.equal(stack.rulesetsNamed('Seed_Flip_Off').length, 1);
    const eventId = stack.opencti.updateIndicator(created.internalId, { detection: false });
    const state = await stack.applied(created.internalId, eventId);
    assert.equal(state.status, 'inactive');
    assert.equal(stack.rulesetsNamed('Seed_Flip_Off').length, 0);
  });

  test('update, rule content changed with detection true: deletes and recreates, shares again', async () => {
    const created = stack.opencti.createIndicator({ name: 'Seed_Edit', pattern: rule('Seed_Edit') });
    const first = await stack.applied(created.internalId, created.eventId);
    const stixBefore = first.indicator?.stixId;
    const eventId = stack.opencti.updateIndicator(created.internalId, { pattern: rule('Seed_Edit', 'filesize < 1MB') });
    const state = await stack.applied(created.internalId, eventId);
    const rulesets = stack.rulesetsNamed('Seed_Edit');
    assert.equal(rulesets.length, 1);
    assert.equal(rulesets[0]!.rules, rule('Seed_Edit', 'filesize < 1MB'));
    assert.notEqual(rulesets[0]!.id, first.ruleset?.id, 'recreated under a new id');
    assert.equal(rulesets[0]!.editors.length, 2, 'shared again');
    assert.notEqual(state.indicator?.stixId, stixBefore, 'a pattern edit changes the STIX id but stays the same indicator');
  });

  test('update, detection true, rule exists, nothing the ruleset carries changed: no VirusTotal write', async () => {
    const created = stack.opencti.createIndicator({ name: 'Seed_Label', pattern: rule('Seed_Label') });
    const first = await stack.applied(created.internalId, created.eventId);
    const writesBefore = stack.writes().length;
    const eventId = stack.opencti.updateIndicator(created.internalId, { score: 95, description: 'new words', labels: ['loader'] });
    await stack.applied(created.internalId, eventId);
    assert.equal(stack.writes().length, writesBefore);
    assert.equal(stack.rulesetsNamed('Seed_Label')[0]?.id, first.ruleset?.id);
  });

  test('delete: deletes the ruleset and the workflow finishes', async () => {
    const created = stack.opencti.createIndicator({ name: 'Seed_Delete', pattern: rule('Seed_Delete') });
    await stack.applied(created.internalId, created.eventId);
    const eventId = stack.opencti.deleteIndicator(created.internalId);
    const state = await stack.applied(created.internalId, eventId);
    assert.equal(state.status, 'deleted');
    assert.equal(stack.rulesetsNamed('Seed_Delete').length, 0);
    const description = await waitFor('completion', async () => {
      const d = await stack.handle(created.internalId).describe();
      return d.status.name === 'COMPLETED' ? d : undefined;
    });
    assert.equal(description.searchAttributes.LivehuntStatus?.[0], 'deleted');
  });
});

describe('beyond the seed', () => {
  test('a rename renames the ruleset', async () => {
    const created = stack.opencti.createIndicator({ name: 'Old_Name', pattern: rule('Renamed') });
    await stack.applied(created.internalId, created.eventId);
    const eventId = stack.opencti.updateIndicator(created.internalId, { name: 'New_Name' });
    await stack.applied(created.internalId, eventId);
    assert.equal(stack.rulesetsNamed('Old_Name').length, 0);
    assert.equal(stack.rulesetsNamed('New_Name').length, 1);
  });

  test('revoked counts as detection false', async () => {
    const created = stack.opencti.createIndicator({ name: 'Revoked_One', pattern: rule('Revoked_One') });
    await stack.applied(created.internalId, created.eventId);
    const eventId = stack.opencti.updateIndicator(created.internalId, { revoked: true });
    const state = await stack.applied(created.internalId, eventId);
    assert.equal(state.status, 'inactive');
    assert.equal(stack.rulesetsNamed('Revoked_One').length, 0);
  });

  test('merge removes the merged-away rulesets and upserts the target', async () => {
    const target = stack.opencti.createIndicator({ name: 'Merge_Target', pattern: rule('Merge_Target') });
    const source = stack.opencti.createIndicator({ name: 'Merge_Source', pattern: rule('Merge_Source') });
    await stack.applied(target.internalId, target.eventId);
    await stack.applied(source.internalId, source.eventId);
    const eventId = stack.opencti.mergeIndicators(target.internalId, [source.internalId]);
    await stack.applied(source.internalId, eventId);
    await stack.applied(target.internalId, eventId);
    assert.equal(stack.rulesetsNamed('Merge_Source').length, 0);
    assert.equal(stack.rulesetsNamed('Merge_Target').length, 1);
  });

  test('two indicators with the same name get two rulesets', async () => {
    const a = stack.opencti.createIndicator({ name: 'Same_Name', pattern: rule('Same_Name_A') });
    const b = stack.opencti.createIndicator({ name: 'Same_Name', pattern: rule('Same_Name_B') });
    const [stateA, stateB] = await Promise.all([stack.applied(a.internalId, a.eventId), stack.applied(b.internalId, b.eventId)]);
    assert.equal(stack.rulesetsNamed('Same_Name').length, 2);
    assert.notEqual(stateA.ruleset?.id, stateB.ruleset?.id);
  });

  test('a delete of a ruleset already gone from VirusTotal counts as done', async () => {
    const created = stack.opencti.createIndicator({ name: 'Gone_Already', pattern: rule('Gone_Already') });
    const state = await stack.applied(created.internalId, created.eventId);
    const response = await fetch(`${stack.vt.url}/intelligence/hunting_rulesets/${state.ruleset!.id}`, {
      method: 'DELETE',
      headers: { 'x-apikey': 'vt-test-key' },
    });
    assert.equal(response.status, 200);
    const eventId = stack.opencti.deleteIndicator(created.internalId);
    const after = await stack.applied(created.internalId, eventId);
    assert.equal(after.status, 'deleted');
    assert.equal(after.ruleset, undefined);
  });

  test("an invalid rule is recorded with VirusTotal's message, and the fixed pattern goes through", async () => {
    const created = stack.opencti.createIndicator({ name: 'Broken_Rule', pattern: 'rule Broken_Rule { condition: ' });
    const state = await stack.applied(created.internalId, created.eventId);
    assert.equal(state.status, 'invalid-rule');
    assert.ok(state.lastError?.message, 'the message is kept');
    assert.match(state.reason, /VirusTotal rejected the rule/);
    const description = await stack.handle(created.internalId).describe();
    assert.equal(description.searchAttributes.LivehuntStatus?.[0], 'invalid-rule');
    assert.equal(description.status.name, 'RUNNING', 'stays open, waiting for a fixed pattern');
    assert.equal(stack.rulesetsNamed('Broken_Rule').length, 0);
    const eventId = stack.opencti.updateIndicator(created.internalId, { pattern: rule('Broken_Rule') });
    const fixed = await stack.applied(created.internalId, eventId);
    assert.equal(fixed.status, 'active');
    assert.equal(stack.rulesetsNamed('Broken_Rule').length, 1);
  });

  test('an operator can force a re-apply with the reapply signal', async () => {
    const created = stack.opencti.createIndicator({ name: 'Reapply_Me', pattern: rule('Reapply_Me') });
    const state = await stack.applied(created.internalId, created.eventId);
    await fetch(`${stack.vt.url}/intelligence/hunting_rulesets/${state.ruleset!.id}`, {
      method: 'PATCH',
      headers: { 'x-apikey': 'vt-test-key', 'content-type': 'application/json' },
      body: JSON.stringify({
        data: { type: 'hunting_ruleset', id: state.ruleset!.id, attributes: { rules: rule('Reapply_Me', 'false'), enabled: false } },
      }),
    });
    assert.equal(stack.rulesetsNamed('Reapply_Me')[0]?.enabled, false);
    await stack.handle(created.internalId).signal('reapply');
    const restored = await waitFor('the ruleset to be put back', () => {
      const ruleset = stack.rulesetsNamed('Reapply_Me')[0];
      return ruleset?.enabled && ruleset.rules === rule('Reapply_Me') ? ruleset : undefined;
    });
    assert.equal(restored.id, state.ruleset!.id, 'repaired in place');
  });

  test('replayed and duplicated events take no effect', async () => {
    const created = stack.opencti.createIndicator({ name: 'Replayed', pattern: rule('Replayed') });
    const state = await stack.applied(created.internalId, created.eventId);
    const writesBefore = stack.writes().length;
    // The same event again (a replay after a crash), then an older one.
    await stack.handle(created.internalId).signal('indicatorEvent', {
      kind: 'upsert',
      streamId: created.eventId,
      source: 'create',
      indicator: { ...state.indicator!, name: 'Replayed_Twice' },
    });
    await stack
      .handle(created.internalId)
      .signal('indicatorEvent', { kind: 'delete', streamId: '1-0', source: 'delete', indicator: state.indicator! });
    const after = await waitFor('both signals to be handled', async () => {
      const current = await stack.state(created.internalId);
      return current && current.eventsSkipped >= state.eventsSkipped + 2 ? current : undefined;
    });
    assert.equal(after.status, 'active');
    assert.equal(stack.writes().length, writesBefore);
    assert.equal(stack.rulesetsNamed('Replayed').length, 1);
  });
});
