/**
 * vt-py 0.22 (VirusTotal's official Python client), unmodified, against the VirusTotal
 * emulator: create, list through a filter over several pages, patch, share and read the
 * editors and owner as objects, delete, a 400 with the compiler's message, a 401.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startVirusTotalEmulator } from '../../emulators/virustotal';
import { clientPython, ClientProcess } from '../support/clients/python-client';

test('vt-py drives the Livehunt API of the emulator end to end', async (t) => {
  const python = clientPython(t, 'vtpy');
  if (python === undefined) return;
  const vt = await startVirusTotalEmulator({ users: [{ apiKey: 'vt-py-key', user: 'hunter' }] });
  try {
    const client = new ClientProcess(python, 'vt_livehunt.py', { VT_HOST: vt.url.replace(/\/api\/v3$/, ''), VT_APIKEY: 'vt-py-key' });
    await client.finished();
    const step = (kind: string) => {
      const found = client.of(kind)[0];
      assert.ok(found, `vt-py reported ${kind}\n${client.transcript()}`);
      return found;
    };
    assert.match(step('done')['version'], /^0\.22\./);

    const created = client.of('created');
    assert.equal(created.length, 5);
    for (const [n, c] of created.entries()) {
      assert.equal(c['type'], 'hunting_ruleset');
      assert.equal(c['name'], `vtpy_${n}`);
      assert.equal(c['enabled'], true);
    }
    assert.deepEqual(step('listed')['names'], ['vtpy_0', 'vtpy_1', 'vtpy_2', 'vtpy_3', 'vtpy_4'], 'the filter left "unrelated" out');
    const listings = vt.requests().filter((r) => r.method === 'GET' && r.path === '/intelligence/hunting_rulesets');
    assert.equal(listings.length, 3, 'five rulesets in pages of two');
    assert.ok(
      listings.slice(1).every((r) => typeof r.query['cursor'] === 'string'),
      'later pages asked with the cursor',
    );

    const patched = step('patched');
    assert.equal(patched['id'], created[0]!['id']);
    assert.equal(patched['enabled'], false);
    assert.match(patched['rules'], /vtpy_patched/);
    assert.equal(patched['name'], 'vtpy_0', 'PATCH keeps what was not sent');
    const patch = vt.requests().find((r) => r.method === 'PATCH');
    assert.deepEqual(
      Object.keys((patch?.body as any)?.data?.attributes ?? {}).sort(),
      ['enabled', 'rules'],
      'vt-py sends only what changed',
    );

    assert.deepEqual(step('editors')['editors'], [
      { type: 'user', id: 'analyst' },
      { type: 'group', id: 'soc_team' },
    ]);
    assert.deepEqual([step('owner')['type'], step('owner')['id']], ['user', 'hunter']);
    assert.equal(step('deleted')['after']['code'], 'NotFoundError');
    assert.deepEqual(
      vt
        .rulesets()
        .map((r) => r.name)
        .sort(),
      ['unrelated', 'vtpy_1', 'vtpy_2', 'vtpy_3', 'vtpy_4'],
    );

    const invalid = step('invalid')['error'];
    assert.match(invalid['code'], /^(BadRequestError|InvalidArgumentError)$/);
    assert.ok(String(invalid['message']).length > 0, 'the 400 carries the reason');
    assert.equal(
      vt.rulesets().some((r) => r.name === 'broken'),
      false,
    );

    assert.equal(step('unauthorized')['error']['code'], 'WrongCredentialsError');
  } finally {
    await vt.close();
  }
});
