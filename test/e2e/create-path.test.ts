/**
 * The create path end to end: the worker and the starter run as `npm run worker` and
 * `npm run starter` do, configured only by environment variables, against a real Temporal dev
 * server and emulators that speak the OpenCTI and VirusTotal protocols.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { startOpenCtiEmulator, type OpenCtiEmulator } from '../../emulators/opencti';
import { startVirusTotalEmulator, type VirusTotalEmulator } from '../../emulators/virustotal';
import type { DevServer } from '../../temporal/dev-server';
import { indicatorWorkflowId } from '../../domain/indicator';
import { startTestTemporal } from '../support/temporal';
import { RoleProcess, waitFor } from '../support/processes';

let temporal: DevServer;
let opencti: OpenCtiEmulator;
let vt: VirusTotalEmulator;
let client: Client;
const roles: RoleProcess[] = [];
const connectorId = randomUUID();

before(async () => {
  [temporal, opencti, vt] = await Promise.all([
    startTestTemporal(),
    startOpenCtiEmulator({ heartbeatMs: 1000 }),
    startVirusTotalEmulator(),
  ]);
  client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  const env = {
    OPENCTI_URL: opencti.url,
    OPENCTI_TOKEN: opencti.token,
    CONNECTOR_ID: connectorId,
    CONNECTOR_LIVE_STREAM_ID: opencti.streamId,
    VIRUSTOTAL_LIVEHUNT_TOKEN: 'vt-test-key',
    VIRUSTOTAL_LIVEHUNT_API_URL: vt.url,
    VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS: 'soc@example.org,cti@example.org',
    VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS: '["user1", "group:acme_soc"]',
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: 'create-path',
  };
  roles.push(RoleProcess.start('worker', env), RoleProcess.start('starter', env));
});

after(async () => {
  await Promise.all(roles.map((role) => role.kill('SIGTERM')));
  await client?.connection.close();
  await Promise.all([opencti?.close(), vt?.close(), temporal?.stop()]);
});

test('a YARA indicator with detection true gives exactly one ruleset, shared in one request', async () => {
  const pattern = 'rule ACME_Loader_Strings {\n  strings:\n    $a = "acme-cfg" ascii\n  condition:\n    $a\n}';
  const { internalId } = opencti.createIndicator({ name: 'ACME_Loader_Strings', pattern, detection: true });

  const created = await waitFor('the ruleset in VirusTotal', () => vt.rulesets().find((r) => r.name === 'ACME_Loader_Strings'), 90_000);
  const workflow = client.workflow.getHandle(indicatorWorkflowId(internalId));
  await waitFor(
    'the workflow to record the ruleset',
    async () => ((await workflow.query('state')) as { ruleset?: { id: string } }).ruleset?.id === created.id,
  );
  // Read again: the workflow records the ruleset once it is shared, not as soon as it exists.
  const ruleset = vt.rulesets().find((r) => r.id === created.id)!;

  assert.equal(ruleset.rules, pattern);
  assert.equal(ruleset.enabled, true);
  assert.equal(ruleset.owner, 'connector');
  assert.deepEqual([...ruleset.notification_emails].sort(), ['cti@example.org', 'soc@example.org']);
  assert.deepEqual(ruleset.editors, [
    { type: 'user', id: 'user1' },
    { type: 'group', id: 'acme_soc' },
  ]);
  assert.equal(vt.rulesets().length, 1);

  const writes = vt.requests().filter((r) => r.method !== 'GET');
  assert.deepEqual(
    writes.map((r) => `${r.method} ${r.path} ${r.status}`),
    ['POST /intelligence/hunting_rulesets 200', `POST /intelligence/hunting_rulesets/${ruleset.id}/relationships/editors 200`],
  );
  assert.ok(
    vt.requests().every((r) => r.apiKeyUser === 'connector'),
    'every request carries the x-apikey of the connector',
  );
});

test('a YARA indicator with detection false gives no ruleset; non-YARA objects are ignored', async () => {
  const before = vt.rulesets().length;
  const { internalId } = opencti.createIndicator({
    name: 'Not_A_Detection',
    pattern: 'rule Not_A_Detection { condition: true }',
    detection: false,
  });
  opencti.createOther('indicator-stix', 'A STIX pattern indicator');
  opencti.createOther('malware', 'Emotet');
  const result = await waitFor('the detection-false workflow to finish', async () => {
    const description = await client.workflow.getHandle(indicatorWorkflowId(internalId)).describe();
    return description.status.name === 'COMPLETED' ? description : undefined;
  });
  assert.equal(result.status.name, 'COMPLETED');
  // A later detection indicator proves the stream moved past the ignored objects.
  opencti.createIndicator({ name: 'After_Ignored', pattern: 'rule After_Ignored { condition: true }' });
  await waitFor('the following ruleset', () => vt.rulesets().find((r) => r.name === 'After_Ignored'));
  assert.equal(vt.rulesets().length, before + 1);
  assert.equal(vt.rulesets().filter((r) => r.name === 'Not_A_Detection').length, 0);
});

test('the starter registered the connector and saves its stream position in the pycti shape', async () => {
  const last = opencti.lastEventId()!;
  const state = await waitFor('a saved state at the last event', () => {
    const raw = opencti.connectorState(connectorId);
    if (!raw) return undefined;
    const parsed = JSON.parse(raw) as { start_from: string; recover_until?: string };
    const [ms, seq] = parsed.start_from.split('-').map(Number);
    const [lastMs, lastSeq] = last.split('-').map(Number);
    return ms! > lastMs! || (ms === lastMs && seq! >= lastSeq!) ? parsed : undefined;
  });
  assert.match(state.start_from, /^\d+-\d+$/);
  assert.ok(typeof state.recover_until === 'string');
  const connector = opencti.connectors().find((c) => c.id === connectorId);
  assert.equal(connector?.type, 'STREAM');
  assert.deepEqual(connector?.scope, ['yara']);
  const request = opencti.streamRequests()[0]!;
  assert.equal(request.headers['listen-delete'], 'true');
  assert.equal(request.headers['no-dependencies'], 'true');
});
