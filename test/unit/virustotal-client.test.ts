/**
 * The VirusTotal client against the VirusTotal emulator (which speaks the API v3 wire format):
 * what each call sends and reads back, and how each kind of failure is classified.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VirusTotalClient, VirusTotalError } from '../../activities/virustotal-client';
import { rule } from '../support/yara';
import { COLLEAGUE_USER, CONNECTOR_KEY, CONNECTOR_USER, useVirusTotalEmulator } from '../support/virustotal';

const vt = useVirusTotalEmulator();

function client(options: { apiKey?: string; pageSize?: number; timeoutMs?: number; apiUrl?: string } = {}): VirusTotalClient {
  return new VirusTotalClient({
    apiUrl: options.apiUrl ?? vt().url,
    apiKey: options.apiKey ?? CONNECTOR_KEY,
    pageSize: options.pageSize,
    timeoutMs: options.timeoutMs,
  });
}

const write = { name: 'Emotet loader', rules: rule('emotet'), enabled: true, limit: 100, notificationEmails: ['soc@example.org'] };

async function failure(promise: Promise<unknown>): Promise<VirusTotalError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof VirusTotalError, `expected a VirusTotalError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}

describe('VirusTotal client: rulesets', () => {
  test('create sends every attribute; get, update and delete round trip', async () => {
    const vtClient = client();
    const created = await vtClient.createRuleset(write);
    const { creationDate, ...attributes } = created;
    assert.equal(typeof creationDate, 'number');
    assert.deepEqual(attributes, {
      id: created.id,
      name: write.name,
      rules: write.rules,
      enabled: true,
      notificationEmails: ['soc@example.org'],
      matchObjectType: 'file',
    });
    const [stored] = vt().rulesets();
    assert.deepEqual(
      { owner: stored?.owner, limit: stored?.limit, enabled: stored?.enabled, emails: stored?.notification_emails },
      { owner: CONNECTOR_USER, limit: 100, enabled: true, emails: ['soc@example.org'] },
    );

    const updated = await vtClient.updateRuleset(created.id, { rules: rule('emotet_v2'), enabled: false });
    assert.equal(updated?.rules, rule('emotet_v2'));
    assert.equal((await vtClient.getRuleset(created.id))?.enabled, false);
    // A PATCH carries only what changes.
    const patch = vt()
      .requests()
      .find((request) => request.method === 'PATCH');
    assert.deepEqual(patch?.body, {
      data: { type: 'hunting_ruleset', id: created.id, attributes: { rules: rule('emotet_v2'), enabled: false } },
    });

    assert.equal(await vtClient.deleteRuleset(created.id), 'deleted');
    assert.deepEqual(vt().rulesets(), []);
  });

  test('a ruleset that does not exist: get and update answer undefined, delete counts as done', async () => {
    const vtClient = client();
    assert.equal(await vtClient.getRuleset('404404'), undefined);
    assert.equal(await vtClient.updateRuleset('404404', { enabled: true }), undefined);
    assert.equal(await vtClient.deleteRuleset('404404'), 'absent');
    assert.equal(await vtClient.owner('404404'), undefined);
  });

  test('listing reads every page, passing the filter and the order', async () => {
    for (let i = 0; i < 5; i++)
      vt().seedRuleset({ owner: CONNECTOR_USER, name: `Emotet ${i}`, rules: rule(`emotet_${i}`), creation_date: 1_700_000_000 + i });
    vt().seedRuleset({ owner: CONNECTOR_USER, name: 'Qakbot', rules: rule('qakbot') });
    const names: string[] = [];
    for await (const ruleset of client({ pageSize: 2 }).listRulesets('name:emotet', 'creation_date-')) names.push(ruleset.name);
    assert.deepEqual(names, ['Emotet 4', 'Emotet 3', 'Emotet 2', 'Emotet 1', 'Emotet 0']);
    const lists = vt()
      .requests()
      .filter((request) => request.method === 'GET');
    assert.equal(lists.length, 3);
    assert.deepEqual(
      lists.map((request) => [request.query.filter, request.query.order, request.query.limit]),
      Array(3).fill(['name:emotet', 'creation_date-', '2']),
    );
  });

  test('editors are added in one request and listed across pages; owner and current user are read', async () => {
    const vtClient = client({ pageSize: 1 });
    const { id } = await vtClient.createRuleset(write);
    vt().clearRequests();
    await vtClient.addEditors(id, [
      { type: 'user', id: COLLEAGUE_USER },
      { type: 'group', id: 'soc-team' },
    ]);
    assert.equal(vt().requests().length, 1);
    assert.deepEqual(await vtClient.listEditors(id), [
      { type: 'user', id: COLLEAGUE_USER },
      { type: 'group', id: 'soc-team' },
    ]);
    await vtClient.addEditors(id, []); // nothing to add: no request
    assert.equal(
      vt()
        .requests()
        .filter((request) => request.method === 'POST').length,
      1,
    );

    assert.equal(await vtClient.owner(id), CONNECTOR_USER);
    assert.equal(await vtClient.currentUser(), CONNECTOR_USER);
    assert.equal(await vtClient.currentUser(), CONNECTOR_USER);
    assert.equal(
      vt()
        .requests()
        .filter((request) => request.path.startsWith('/users/')).length,
      1,
      'the current user is asked once',
    );
  });
});

describe('VirusTotal client: failures', () => {
  test('a rule that does not compile is "invalid", with VirusTotal\'s code and message', async () => {
    const error = await failure(client().createRuleset({ ...write, rules: 'rule broken {' }));
    assert.equal(error.kind, 'invalid');
    assert.equal(error.status, 400);
    assert.equal(error.code, 'InvalidArgumentError');
    assert.match(error.message, /^POST \/intelligence\/hunting_rulesets: 400 InvalidArgumentError: ./);
  });

  test('429 is "quota" and carries Retry-After; 503 and a gateway\'s HTML 502 are "transient"', async () => {
    vt().injectFault({ status: 429, retryAfterSeconds: 3 });
    const quota = await failure(client().createRuleset(write));
    assert.deepEqual([quota.kind, quota.status, quota.code, quota.retryAfterMs], ['quota', 429, 'QuotaExceededError', 3000]);

    vt().injectFault({ status: 503 });
    const unavailable = await failure(client().createRuleset(write));
    assert.deepEqual([unavailable.kind, unavailable.retryAfterMs], ['transient', undefined]);

    vt().injectFault({ status: 502, nonJsonBody: true });
    const gateway = await failure(client().createRuleset(write));
    assert.equal(gateway.kind, 'transient');
    assert.match(gateway.message, /502: <html>/);

    vt().injectFault({ status: 400, code: 'NotAvailableYet' });
    assert.equal((await failure(client().createRuleset(write))).kind, 'transient');
    assert.deepEqual(vt().rulesets(), []);
  });

  test('a wrong key is "auth", and the key never appears in the message', async () => {
    const wrongKey = 'not-a-key-of-anyone';
    const error = await failure(client({ apiKey: wrongKey }).currentUser());
    assert.deepEqual([error.kind, error.status], ['auth', 401]);
    assert.ok(!error.message.includes(wrongKey), error.message);
    assert.match(error.message, /GET \/users\/\*\*\*/);
  });

  test('no answer in time, or no server at all, is "transient"', async () => {
    vt().setLatency(300);
    const slow = await failure(client({ timeoutMs: 50 }).getRuleset('1'));
    assert.equal(slow.kind, 'transient');
    assert.match(slow.message, /no answer within 50 ms/);

    const closed = await failure(client({ apiUrl: 'http://127.0.0.1:9/api/v3' }).getRuleset('1'));
    assert.equal(closed.kind, 'transient');
  });
});
