/**
 * Input a real deployment eventually sends: events Temporal would refuse, patterns VirusTotal
 * would refuse for their size, ids that cannot key a workflow, names over Temporal's search
 * attribute limit, and frames with one unusable part. None of them may stall the stream, leak a
 * ruleset or cost the events around them.
 *
 * The Temporal server here refuses payloads over 256 KiB (instead of 2 MiB), so that an event
 * the connector's own size checks let through is still refused by Temporal: the quarantine path.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { processEnvironment } from '../../config';
import { MAX_RULES_BYTES } from '../../domain/limits';
import { OPENCTI_EXTENSION } from '../../starter/frames';
import { resolveTemporalCli } from '../../temporal/cli';
import { startDevServer, type DevServer } from '../../temporal/dev-server';
import { quarantineQuery, quarantineWorkflowId, type IndicatorWorkflowState } from '../../workflows/definitions';
import { ALL_SEARCH_ATTRIBUTES, INDICATOR_NAME } from '../../workflows/search-attributes';
import { waitFor } from '../support/processes';
import { Stack } from '../support/stack';
import { rule } from '../support/yara';

const BLOB_LIMIT = 256 * 1024;

let temporal: DevServer;
let stack: Stack;

before(async () => {
  const env = processEnvironment();
  const cli = await resolveTemporalCli({ cliPath: env.TEMPORAL_CLI_PATH || undefined, searchPath: env.PATH ?? '' });
  temporal = await startDevServer({
    cliPath: cli.path,
    uiPort: false,
    searchAttributes: Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((key) => [key.name, 'Keyword' as const])),
    dynamicConfig: { 'limit.blobSize.error': BLOB_LIMIT, 'limit.blobSize.warn': BLOB_LIMIT / 2 },
  });
  // A small buffer: a stuck event would pause the stream for good, as it did before the quarantine.
  stack = await Stack.start(temporal, { env: { CONNECTOR_MAX_BUFFERED_EVENTS: '5', CONNECTOR_MAX_IN_FLIGHT_EVENTS: '4' } });
});

after(async () => {
  await stack?.stop();
  await temporal?.stop();
});

/** Creates `count` ordinary indicators and waits until each has its ruleset. */
async function followersGetRulesets(prefix: string, count: number): Promise<void> {
  const created = Array.from({ length: count }, (_, i) => ({
    name: `${prefix}_${i}`,
    ...stack.opencti.createIndicator({ name: `${prefix}_${i}`, pattern: rule(`${prefix}_${i}`) }),
  }));
  await Promise.all(created.map(({ internalId, eventId }) => stack.applied(internalId, eventId)));
  for (const { name } of created) assert.equal(stack.rulesetsNamed(name).length, 1, `${name} has exactly one ruleset`);
}

const envelope = (type: string, data: unknown, context?: unknown) =>
  JSON.stringify({
    version: '4',
    type,
    scope: 'external',
    origin: {},
    message: `${type}s an indicator`,
    data,
    ...(context ? { context } : {}),
  });

describe('hostile input', () => {
  test('an event Temporal refuses for good is quarantined, and the 40 indicators after it get their rulesets', async () => {
    // Under VirusTotal's 1 MB and the connector's own budget, over this server's blob limit.
    const poison = stack.opencti.createIndicator({
      name: 'Poison_Blob',
      pattern: rule('Poison_Blob', `"${'a'.repeat(BLOB_LIMIT + 10_000)}" == "b"`),
    });
    await followersGetRulesets('After_Poison', 40);

    const quarantine = stack.client.workflow.getHandle(quarantineWorkflowId(stack.taskQueue));
    const listed = await waitFor('the poison event in the quarantine', async () => {
      const state = await quarantine.query(quarantineQuery).catch(() => undefined);
      return state?.entries.find((entry) => entry.internalId === poison.internalId);
    });
    assert.equal(listed.streamId, poison.eventId);
    assert.equal(listed.name, 'Poison_Blob');
    assert.match(listed.reason, /size exceeds limit/i);
    const logged = stack.starter!.output.filter((line) => line.includes('quarantined'));
    assert.equal(logged.length, 1, 'logged once, not retried');
    assert.match(logged[0]!, new RegExp(poison.internalId));
    assert.match(logged[0]!, new RegExp(poison.eventId));
    // The saved position moved past the poison event.
    await waitFor('the saved position to pass the poison event', () => {
      const state = stack.opencti.connectorState(stack.connectorId);
      const from = state ? (JSON.parse(state) as { start_from?: string }).start_from : undefined;
      return from !== undefined && Number(from.split('-')[0]) >= Number(poison.eventId.split('-')[0]);
    });
  });

  test('a pattern over VirusTotal’s 1 MB is never sent: invalid-rule with the reason, then a smaller pattern goes through', async () => {
    const huge = rule('Huge_Rule', `"${'b'.repeat(3 * 1024 * 1024)}" == "c"`);
    const writesBefore = stack.writes().length;
    const { internalId, eventId } = stack.opencti.createIndicator({ name: 'Huge_Rule', pattern: huge });
    const refused = await stack.applied(internalId, eventId);
    assert.equal(refused.status, 'invalid-rule');
    assert.match(refused.reason, new RegExp(`at most ${MAX_RULES_BYTES} bytes`));
    assert.equal(refused.indicator?.pattern, '', 'the pattern was not carried through Temporal');
    assert.equal(stack.writes().length, writesBefore, 'nothing written to VirusTotal');

    const fixed = stack.opencti.updateIndicator(internalId, { pattern: rule('Huge_Rule') });
    const state = await stack.applied(internalId, fixed);
    assert.equal(state.status, 'active');
    assert.equal(stack.rulesetsNamed('Huge_Rule').length, 1);
  });

  test('internal ids that cannot key a workflow are skipped with a log line; the stream moves on', async () => {
    const long = stack.opencti.createIndicator({ internalId: 'x'.repeat(2000), name: 'Long_Id', pattern: rule('Long_Id') });
    const surrogate = stack.opencti.createIndicator({
      internalId: 'lone-\ud800-surrogate',
      name: 'Lone_Surrogate',
      pattern: rule('Lone_Surrogate'),
    });
    await followersGetRulesets('After_Bad_Ids', 10);
    assert.equal(stack.rulesetsNamed('Long_Id').length, 0);
    assert.equal(stack.rulesetsNamed('Lone_Surrogate').length, 0);
    const skipped = stack.starter!.output.filter((line) => line.includes('skipping a malformed frame'));
    assert.ok(
      skipped.some((line) => line.includes(long.eventId) && line.includes('2000 characters long')),
      'the long id is named',
    );
    assert.ok(
      skipped.some((line) => line.includes(surrogate.eventId) && line.includes('lone UTF-16 surrogate')),
      'the surrogate is named',
    );
  });

  test('a name over Temporal’s search attribute limit: the workflow lives, the full name stays, and a delete removes the ruleset', async () => {
    const name = `Long_${'Ä'.repeat(1500)}`; // 3,005 bytes in UTF-8
    const { internalId, eventId } = stack.opencti.createIndicator({ name, pattern: rule('Long_Name') });
    const state = await stack.applied(internalId, eventId);
    assert.equal(state.status, 'active');
    assert.equal(state.indicator?.name, name);
    assert.equal(stack.rulesetsNamed(name).length, 1);
    const description = await stack.handle(internalId).describe();
    assert.equal(description.status.name, 'RUNNING');
    const shown = description.typedSearchAttributes.get(INDICATOR_NAME) ?? '';
    assert.ok(
      shown.startsWith('Long_ÄÄÄ') && shown.endsWith('…') && Buffer.byteLength(shown) <= 1024,
      'the search attribute holds the name, cut',
    );

    const deleted = stack.opencti.deleteIndicator(internalId);
    const gone = await stack.applied(internalId, deleted);
    assert.equal(gone.status, 'deleted');
    assert.equal(stack.rulesetsNamed(name).length, 0, 'nothing left in VirusTotal');
  });

  test('a merge with an unusable source still removes the rulesets of the sources it can identify', async () => {
    const a = stack.opencti.createIndicator({ name: 'Merge_Source_A', pattern: rule('Merge_Source_A') });
    const b = stack.opencti.createIndicator({ name: 'Merge_Source_B', pattern: rule('Merge_Source_B') });
    const target = stack.opencti.createIndicator({ name: 'Merge_Target', pattern: rule('Merge_Target') });
    await Promise.all([a, b, target].map(({ internalId, eventId }) => stack.applied(internalId, eventId)));
    const broken = { id: 'indicator--00000000-0000-4000-8000-000000000000', type: 'indicator', name: 'No_Internal_Id' };
    const mergeId = stack.opencti.appendRaw(
      'merge',
      envelope('merge', stack.opencti.indicator(target.internalId), {
        sources: [stack.opencti.indicator(a.internalId), broken, 42, stack.opencti.indicator(b.internalId)],
      }),
    );
    const [stateA, stateB] = await Promise.all([stack.applied(a.internalId, mergeId), stack.applied(b.internalId, mergeId)]);
    assert.equal(stateA.status, 'deleted');
    assert.equal(stateB.status, 'deleted');
    assert.equal(stack.rulesetsNamed('Merge_Source_A').length, 0);
    assert.equal(stack.rulesetsNamed('Merge_Source_B').length, 0);
    assert.equal(stack.rulesetsNamed('Merge_Target').length, 1);
    assert.ok(stack.starter!.output.some((line) => line.includes('part of a frame could not be used') && line.includes(mergeId)));
  });

  test('a delete whose detection is null (and whose name is missing) still removes the ruleset', async () => {
    const { internalId, eventId } = stack.opencti.createIndicator({ name: 'Null_Detection', pattern: rule('Null_Detection') });
    await stack.applied(internalId, eventId);
    const stix = structuredClone(stack.opencti.indicator(internalId)) as Record<string, unknown> & {
      extensions: Record<string, Record<string, unknown>>;
    };
    stix.extensions[OPENCTI_EXTENSION]!.detection = null;
    stix.name = null;
    const deleteId = stack.opencti.appendRaw('delete', envelope('delete', stix));
    const state: IndicatorWorkflowState = await stack.applied(internalId, deleteId);
    assert.equal(state.status, 'deleted');
    assert.equal(stack.rulesetsNamed('Null_Detection').length, 0);
  });
});

describe('a frame too large to read', () => {
  test('is skipped and quarantined by its id; the indicators after it get their rulesets', async () => {
    const huge = stack.opencti.appendRaw(
      'create',
      envelope('create', {
        id: 'indicator--11111111-1111-4111-8111-111111111111',
        type: 'indicator',
        name: 'Unread',
        pattern_type: 'yara',
        pattern: 'x'.repeat(9 * 1024 * 1024),
      }),
    );
    await followersGetRulesets('After_Huge_Frame', 5).catch((error: Error) => {
      throw new Error(`${error.message}\nstarter log:\n${stack.starter!.log().slice(-3000)}`);
    });
    const quarantine = stack.client.workflow.getHandle(quarantineWorkflowId(stack.taskQueue));
    const listed = await waitFor('the skipped frame in the quarantine', async () => {
      const state = await quarantine.query(quarantineQuery).catch(() => undefined);
      return state?.entries.find((entry) => entry.streamId === huge);
    });
    assert.match(listed.reason, /skipped unread/);
    assert.ok(stack.starter!.output.some((line) => line.includes('too large to read') && line.includes(huge)));
  });
});
