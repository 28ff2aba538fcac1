// The VirusTotal emulator's `/{id}/editors` and `/{id}/owner`: VT's generic "related objects"
// form, full objects where `/relationships/...` gives descriptors. The `related` links the
// emulator itself hands out must lead somewhere.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startVirusTotalEmulator, type VirusTotalEmulator } from '../../emulators/virustotal';

const KEY = 'key-owner';
const RULE = 'rule Related_Objects { strings: $a = "related" condition: $a }';

let vt: VirusTotalEmulator;

before(async () => {
  vt = await startVirusTotalEmulator({
    users: [
      { apiKey: KEY, user: 'owner' },
      { apiKey: 'key-other', user: 'other' },
    ],
  });
});

after(async () => {
  await vt.close();
});

async function call(method: string, pathOrUrl: string, body?: unknown, key = KEY): Promise<{ status: number; json: any }> {
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${vt.url}${pathOrUrl}`;
  const headers: Record<string, string> = { 'x-apikey': key };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

async function shared(name: string, editors: Array<{ type: string; id: string }>): Promise<string> {
  const created = await call('POST', '/intelligence/hunting_rulesets', {
    data: { type: 'hunting_ruleset', attributes: { name, rules: RULE } },
  });
  assert.equal(created.status, 200);
  const id = created.json.data.id as string;
  assert.equal((await call('POST', `/intelligence/hunting_rulesets/${id}/relationships/editors`, { data: editors })).status, 200);
  return id;
}

test('GET /{id}/editors answers the editors as full user and group objects, paginated', async () => {
  const editors = [
    { type: 'user', id: 'alice' },
    { type: 'group', id: 'acme_soc' },
    { type: 'user', id: 'bob' },
  ];
  const id = await shared('full editors', editors);
  const first = await call('GET', `/intelligence/hunting_rulesets/${id}/editors?limit=2`);
  assert.equal(first.status, 200);
  assert.deepEqual(first.json.data, [
    { type: 'user', id: 'alice', links: { self: `${vt.url}/users/alice` }, attributes: {} },
    { type: 'group', id: 'acme_soc', links: { self: `${vt.url}/groups/acme_soc` }, attributes: {} },
  ]);
  assert.equal(first.json.links.self, `${vt.url}/intelligence/hunting_rulesets/${id}/editors?limit=2`);
  const second = await call('GET', first.json.links.next);
  assert.deepEqual(
    second.json.data.map((o: { id: string }) => o.id),
    ['bob'],
  );
  assert.equal(second.json.links.next, undefined);

  const descriptors = await call('GET', `/intelligence/hunting_rulesets/${id}/relationships/editors`);
  assert.deepEqual(descriptors.json.data, editors, 'the relationships form still gives descriptors only');
});

test('GET /{id}/owner answers the owner as a full user object', async () => {
  const id = await shared('full owner', []);
  const owner = await call('GET', `/intelligence/hunting_rulesets/${id}/owner`);
  assert.equal(owner.status, 200);
  assert.deepEqual(owner.json.data, { type: 'user', id: 'owner', links: { self: `${vt.url}/users/owner` }, attributes: {} });
});

test('the related links of ?relationships=editors,owner lead to those answers', async () => {
  const id = await shared('links', [{ type: 'user', id: 'alice' }]);
  const ruleset = await call('GET', `/intelligence/hunting_rulesets/${id}?relationships=editors,owner`);
  const editors = await call('GET', ruleset.json.data.relationships.editors.links.related);
  assert.equal(editors.status, 200);
  assert.deepEqual(
    editors.json.data.map((o: { id: string }) => o.id),
    ['alice'],
  );
  const owner = await call('GET', ruleset.json.data.relationships.owner.links.related);
  assert.equal(owner.json.data.id, 'owner');
});

test('the full forms are read-only and follow the ruleset’s visibility', async () => {
  const id = await shared('read only', []);
  for (const rel of ['editors', 'owner']) {
    const post = await call('POST', `/intelligence/hunting_rulesets/${id}/${rel}`, { data: [{ type: 'user', id: 'x' }] });
    assert.equal(post.status, 405);
    assert.equal(post.json.error.code, 'MethodNotAllowedError');
    const hidden = await call('GET', `/intelligence/hunting_rulesets/${id}/${rel}`, undefined, 'key-other');
    assert.equal(hidden.status, 404, `${rel} of a ruleset not shared with the caller`);
    assert.equal(hidden.json.error.code, 'NotFoundError');
  }
  assert.equal((await call('GET', `/intelligence/hunting_rulesets/${id}/viewers`)).status, 404, 'an unknown relationship is still unknown');
});
