// Behaviour of the VirusTotal Livehunt emulator, exercised over real HTTP like a client would.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startVirusTotalEmulator, type VirusTotalEmulator } from '../../emulators/virustotal';

const ALICE = 'key-alice';
const BOB = 'key-bob';
const CAROL = 'key-carol'; // no VT Hunting privilege
const DAVE = 'key-dave';

const RULE = 'rule ACME_Loader_Strings {\n  strings:\n    $a = "acme-cfg" ascii\n  condition:\n    $a\n}';

let vt: VirusTotalEmulator;

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // `any`: the response shapes are exactly what the tests assert on.
  json: any;
}

async function call(
  method: string,
  pathOrUrl: string,
  opts: { key?: string | null; body?: unknown; rawBody?: string; emulator?: VirusTotalEmulator } = {},
): Promise<Reply> {
  const target = opts.emulator ?? vt;
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${target.url}${pathOrUrl}`;
  const headers: Record<string, string> = {};
  const key = opts.key === undefined ? ALICE : opts.key;
  if (key !== null) headers['x-apikey'] = key;
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const controlUrl = (path: string, emulator: VirusTotalEmulator = vt): string =>
  `${emulator.url.replace(/\/api\/v3$/, '')}/_emulator${path}`;

async function control(method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(controlUrl(path), {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text === '' ? undefined : JSON.parse(text) };
}

function rulesetBody(attributes: Record<string, unknown>): unknown {
  return { data: { type: 'hunting_ruleset', attributes } };
}

async function create(attributes: Record<string, unknown>, key = ALICE): Promise<Reply> {
  return call('POST', '/intelligence/hunting_rulesets', { key, body: rulesetBody({ rules: RULE, ...attributes }) });
}

async function createId(name: string, key = ALICE, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await create({ name, ...extra }, key);
  assert.equal(r.status, 200, r.text);
  return r.json.data.id as string;
}

/** Follows links.next until the end, returning every page. */
async function allPages(firstPath: string, key = ALICE): Promise<Reply[]> {
  const pages: Reply[] = [];
  let next: string | undefined = firstPath;
  while (next !== undefined) {
    const page = await call('GET', next, { key });
    assert.equal(page.status, 200, page.text);
    pages.push(page);
    next = page.json.links.next as string | undefined;
    if (pages.length > 100) throw new Error('pagination does not terminate');
  }
  return pages;
}

function assertError(r: Reply, status: number, code: string, message?: RegExp | string): void {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type') ?? '', /application\/json/);
  assert.equal(r.json?.error?.code, code, r.text);
  assert.equal(typeof r.json.error.message, 'string');
  if (typeof message === 'string') assert.equal(r.json.error.message, message);
  else if (message) assert.match(r.json.error.message, message);
}

before(async () => {
  vt = await startVirusTotalEmulator({
    users: [
      { apiKey: ALICE, user: 'alice', groups: ['soc'] },
      { apiKey: BOB, user: 'bob', groups: ['soc'] },
      { apiKey: CAROL, user: 'carol', hunting: false },
      { apiKey: DAVE, user: 'dave', groups: ['other'] },
    ],
  });
});

after(async () => {
  await vt.close();
});

beforeEach(() => {
  vt.reset();
});

describe('authentication', () => {
  test('a missing key is 401 AuthenticationRequiredError with VT’s message', async () => {
    const r = await call('GET', '/intelligence/hunting_rulesets', { key: null });
    assertError(r, 401, 'AuthenticationRequiredError', 'X-Apikey header is missing');
  });

  test('an unknown key is 401 WrongCredentialsError', async () => {
    const r = await call('GET', '/intelligence/hunting_rulesets', { key: 'nope' });
    assertError(r, 401, 'WrongCredentialsError');
  });

  test('a key without the Hunting privilege is 403 ForbiddenError and creates nothing', async () => {
    const r = await create({ name: 'x' }, CAROL);
    assertError(r, 403, 'ForbiddenError');
    assert.equal(vt.rulesets().length, 0);
  });

  test('the request log stores the resolved user, never the key', async () => {
    await call('GET', '/intelligence/hunting_rulesets', { key: ALICE });
    await call('GET', '/intelligence/hunting_rulesets', { key: 'not-a-key' });
    await call('GET', '/intelligence/hunting_rulesets', { key: CAROL });
    const log = vt.requests();
    assert.deepEqual(
      log.map((r) => [r.apiKeyUser, r.status]),
      [
        ['alice', 200],
        [undefined, 401],
        ['carol', 403],
      ],
    );
    const serialized = JSON.stringify(log);
    for (const key of [ALICE, 'not-a-key', CAROL]) assert.ok(!serialized.includes(key), `log leaks ${key}`);
  });

  test('the default user is vt-test-key / connector', async () => {
    const other = await startVirusTotalEmulator();
    try {
      const r = await call('POST', '/intelligence/hunting_rulesets', {
        emulator: other,
        key: 'vt-test-key',
        body: rulesetBody({ name: 'n', rules: RULE }),
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(other.rulesets()[0]?.owner, 'connector');
      assertError(await call('GET', '/intelligence/hunting_rulesets', { emulator: other, key: ALICE }), 401, 'WrongCredentialsError');
    } finally {
      await other.close();
    }
  });
});

describe('ruleset CRUD', () => {
  test('create answers the VT object envelope with defaults and computed attributes', async () => {
    const before = Math.floor(Date.now() / 1000);
    const r = await create({ name: 'octi-1234' });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    const data = r.json.data;
    assert.equal(data.type, 'hunting_ruleset');
    assert.match(data.id, /^[1-9]\d{15,18}$/);
    assert.equal(data.links.self, `${vt.url}/intelligence/hunting_rulesets/${data.id}`);
    const a = data.attributes;
    assert.equal(a.name, 'octi-1234');
    assert.equal(a.rules, RULE);
    assert.equal(a.enabled, true);
    assert.equal(a.limit, 100);
    assert.equal(a.match_object_type, 'file');
    assert.deepEqual(a.notification_emails, []);
    assert.deepEqual(a.tags, []);
    assert.equal(a.number_of_rules, 1);
    assert.deepEqual(a.rule_names, ['ACME_Loader_Strings']);
    assert.equal(a.rate_limited, false);
    assert.ok(Number.isInteger(a.creation_date) && a.creation_date >= before && a.creation_date <= before + 5);
    assert.equal(a.modification_date, a.creation_date);
    assert.equal(vt.rulesets()[0]?.owner, 'alice');
  });

  test('explicit attributes are stored as sent', async () => {
    const r = await create({
      name: 'n',
      enabled: false,
      limit: 10,
      notification_emails: ['soc@example.org'],
      match_object_type: 'url',
      tags: ['acme'],
    });
    assert.equal(r.status, 200, r.text);
    const stored = vt.rulesets()[0];
    assert.ok(stored);
    assert.equal(stored.enabled, false);
    assert.equal(stored.limit, 10);
    assert.deepEqual(stored.notification_emails, ['soc@example.org']);
    assert.equal(stored.match_object_type, 'url');
    assert.deepEqual(stored.tags, ['acme']);
  });

  test('ids are unique opaque digit strings and duplicate names are accepted', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 40; i++) ids.add(await createId('same-name'));
    assert.equal(ids.size, 40);
    for (const id of ids) assert.match(id, /^\d{16,19}$/);
    assert.equal(vt.rulesets().filter((r) => r.name === 'same-name').length, 40);
  });

  test('get, patch and delete round trip', async () => {
    const id = await createId('first');
    const got = await call('GET', `/intelligence/hunting_rulesets/${id}`);
    assert.equal(got.status, 200);
    assert.equal(got.json.data.attributes.name, 'first');

    const newRules = 'rule One { condition: true }\nrule Two { condition: false }';
    const patched = await call('PATCH', `/intelligence/hunting_rulesets/${id}`, {
      body: {
        data: {
          type: 'hunting_ruleset',
          id,
          attributes: { name: 'second', enabled: false, limit: 1000, notification_emails: ['a@b.org'], rules: newRules },
        },
      },
    });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.json.data.id, id);
    const a = patched.json.data.attributes;
    assert.equal(a.name, 'second');
    assert.equal(a.enabled, false);
    assert.equal(a.limit, 1000);
    assert.deepEqual(a.notification_emails, ['a@b.org']);
    assert.deepEqual(a.rule_names, ['One', 'Two']);
    assert.equal(a.number_of_rules, 2);

    const reread = await call('GET', `/intelligence/hunting_rulesets/${id}`);
    assert.equal(reread.json.data.attributes.name, 'second');
    assert.equal(reread.json.data.attributes.rules, newRules);

    const del = await call('DELETE', `/intelligence/hunting_rulesets/${id}`);
    assert.equal(del.status, 200);
    assert.equal(del.text, '');
    assertError(await call('GET', `/intelligence/hunting_rulesets/${id}`), 404, 'NotFoundError', `Resource "${id}" not found`);
    assertError(await call('DELETE', `/intelligence/hunting_rulesets/${id}`), 404, 'NotFoundError');
    assert.equal(vt.rulesets().length, 0);
  });

  test('a partial PATCH changes only what it sends and bumps modification_date', async () => {
    const seeded = vt.seedRuleset({
      owner: 'alice',
      name: 'old',
      rules: RULE,
      limit: 7,
      notification_emails: ['x@y.org'],
      creation_date: 1_600_000_000,
      modification_date: 1_600_000_000,
    });
    const r = await call('PATCH', `/intelligence/hunting_rulesets/${seeded.id}`, {
      body: { data: { type: 'hunting_ruleset', attributes: { enabled: false } } },
    });
    assert.equal(r.status, 200, r.text);
    const stored = vt.rulesets()[0];
    assert.ok(stored);
    assert.equal(stored.enabled, false);
    assert.equal(stored.name, 'old');
    assert.equal(stored.limit, 7);
    assert.deepEqual(stored.notification_emails, ['x@y.org']);
    assert.equal(stored.creation_date, 1_600_000_000);
    assert.ok(stored.modification_date >= Math.floor(Date.now() / 1000) - 5, 'modification_date bumped to now');
  });

  test('rule_names understands modifiers, tags, comments, strings, hex strings and regexes', async () => {
    const rules = [
      'import "pe"',
      '// rule CommentedOut { condition: true }',
      '/* rule AlsoCommented {',
      '   condition: true } */',
      'private rule Helper : tag1 tag2 {',
      '  strings:',
      '    $s = "{ not a brace rule Fake {"',
      '    $h = { 4D 5A ?? [2-4] 00 }',
      '    $r = /a\\{2\\}\\//',
      '  condition:',
      '    any of them and pe.is_pe',
      '}',
      'global private rule Gate { condition: filesize < 10MB }',
      'rule Main { condition: Helper and Gate }',
    ].join('\n');
    const r = await create({ name: 'multi', rules });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.data.attributes.rule_names, ['Helper', 'Gate', 'Main']);
    assert.equal(r.json.data.attributes.number_of_rules, 3);
  });

  test('?relationships=editors,owner embeds descriptors in the object', async () => {
    const id = await createId('rel');
    await call('POST', `/intelligence/hunting_rulesets/${id}/relationships/editors`, {
      body: { data: [{ type: 'group', id: 'soc' }] },
    });
    const r = await call('GET', `/intelligence/hunting_rulesets/${id}?relationships=editors,owner`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.data.relationships.editors.data, [{ type: 'group', id: 'soc' }]);
    assert.deepEqual(r.json.data.relationships.owner.data, { type: 'user', id: 'alice' });
    const plain = await call('GET', `/intelligence/hunting_rulesets/${id}`);
    assert.equal(plain.json.data.relationships, undefined);
  });
});

describe('validation', () => {
  test('name and rules are required, naming the missing field', async () => {
    const noName = await call('POST', '/intelligence/hunting_rulesets', { body: rulesetBody({ rules: RULE }) });
    assertError(noName, 400, 'BadRequestError', /"name"/);
    const noRules = await call('POST', '/intelligence/hunting_rulesets', { body: rulesetBody({ name: 'x' }) });
    assertError(noRules, 400, 'BadRequestError', /"rules"/);
    assert.equal(vt.rulesets().length, 0);
  });

  test('the envelope must be a hunting_ruleset object', async () => {
    const bare = await call('POST', '/intelligence/hunting_rulesets', { body: { name: 'x', rules: RULE } });
    assertError(bare, 400, 'BadRequestError', /data/);
    const wrongType = await call('POST', '/intelligence/hunting_rulesets', {
      body: { data: { type: 'retrohunt_job', attributes: { name: 'x', rules: RULE } } },
    });
    assertError(wrongType, 400, 'BadRequestError', /retrohunt_job/);
    const malformed = await call('POST', '/intelligence/hunting_rulesets', { rawBody: '{"data": ' });
    assertError(malformed, 400, 'BadRequestError', /JSON/);
    assert.equal(vt.rulesets().length, 0);
  });

  test('ill-typed attribute values are 400 InvalidArgumentError naming the attribute', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ limit: '100' }, /"limit"/],
      [{ limit: 0 }, /"limit"/],
      [{ enabled: 'yes' }, /"enabled"/],
      [{ notification_emails: 'soc@example.org' }, /"notification_emails"/],
      [{ notification_emails: ['not-an-email'] }, /"notification_emails"/],
      [{ match_object_type: 'banana' }, /"match_object_type"/],
      [{ name: '   ' }, /"name"/],
    ];
    for (const [attrs, message] of cases) {
      assertError(await create({ name: 'x', ...attrs }), 400, 'InvalidArgumentError', message);
    }
    assert.equal(vt.rulesets().length, 0);
  });

  test("YARA that cannot compile is 400 InvalidArgumentError with the compiler's message", async () => {
    const bad: Array<[string, RegExp]> = [
      ['rule NoCondition {\n  strings:\n    $a = "x"\n}', /^E001 at line 4, column 1: syntax error \(expecting .*`condition`, found `}`\)/],
      ['rule Open {\n  condition:\n    true\n', /^E001 at line 3, column 9: syntax error \(expecting .*found end of file\)/],
      ['rule Extra { condition: true }\n}', /^E001 at line 2, column 1: syntax error/],
      ['just some text', /^E001 at line 1, column 1: syntax error/],
      ['', /./],
      ['// only a comment', /no rule/],
      ['rule Dup { condition: true }\nrule Dup { condition: true }', /^E012 at line 2, column 6: duplicate rule `Dup`/],
      ['rule V { condition: vt.metadata.new_file }', /^E009 at line 1, column 21: unknown identifier `vt`/],
      ['rule S { strings: $a = "unterminated\n condition: $a }', /^E001 at line 1, column 24: syntax error/],
    ];
    for (const [rules, message] of bad) {
      const r = await create({ name: 'bad', rules });
      if (rules === '') assertError(r, 400, 'InvalidArgumentError', /"rules"/);
      else assertError(r, 400, 'InvalidArgumentError', message);
    }
    assert.equal(vt.rulesets().length, 0);
    const withImport = await create({ name: 'ok', rules: 'import "vt"\nrule V { condition: vt.metadata.new_file }' });
    assert.equal(withImport.status, 200, withImport.text);
  });

  test('include is refused', async () => {
    const r = await create({ name: 'inc', rules: `include "other.yar"\n${RULE}` });
    assertError(r, 400, 'InvalidArgumentError', /^E043 at line 1, column 1: include file not found/);
  });

  test('rules larger than the size limit are refused, at the limit accepted', async () => {
    const small = await startVirusTotalEmulator({ users: [{ apiKey: ALICE, user: 'alice' }], maxRulesetBytes: 200 });
    try {
      const base = 'rule Big { condition: true }\n';
      const fits = base + '/*' + 'x'.repeat(200 - base.length - 4) + '*/';
      assert.equal(Buffer.byteLength(fits), 200);
      const ok = await call('POST', '/intelligence/hunting_rulesets', { emulator: small, body: rulesetBody({ name: 'a', rules: fits }) });
      assert.equal(ok.status, 200, ok.text);
      const tooBig = await call('POST', '/intelligence/hunting_rulesets', {
        emulator: small,
        body: rulesetBody({ name: 'b', rules: `${fits}\n` }),
      });
      assertError(tooBig, 400, 'InvalidArgumentError', /too large: 201 bytes.*200/);
      assert.equal(small.rulesets().length, 1);
    } finally {
      await small.close();
    }
  });

  test('the default size limit is 1 MiB', async () => {
    const rules = `${RULE}\n/*${'x'.repeat(1024 * 1024)}*/`;
    assertError(await create({ name: 'huge', rules }), 400, 'InvalidArgumentError', /too large/);
  });

  test('setInvalidRulePattern turns matching text into a compile error, on create and PATCH', async () => {
    const id = await createId('fine');
    vt.setInvalidRulePattern(/forbidden_thing/g);
    const rules = 'rule P {\n  strings:\n    $a = "forbidden_thing"\n  condition:\n    $a\n}';
    for (let i = 0; i < 2; i++) {
      // Twice, so that a global RegExp's lastIndex cannot make the second attempt pass.
      assertError(await create({ name: 'p', rules }), 400, 'InvalidArgumentError', /^line 3: syntax error/);
    }
    const patch = await call('PATCH', `/intelligence/hunting_rulesets/${id}`, {
      body: { data: { type: 'hunting_ruleset', attributes: { rules } } },
    });
    assertError(patch, 400, 'InvalidArgumentError', /^line 3:/);
    assert.equal(vt.rulesets()[0]?.rules, RULE, 'a refused PATCH changes nothing');
    vt.setInvalidRulePattern(undefined);
    assert.equal((await create({ name: 'p', rules })).status, 200);
  });

  test('PATCH validates like create and refuses a mismatched id', async () => {
    const id = await createId('x');
    const path = `/intelligence/hunting_rulesets/${id}`;
    assertError(
      await call('PATCH', path, { body: { data: { type: 'hunting_ruleset', attributes: { limit: -1 } } } }),
      400,
      'InvalidArgumentError',
      /"limit"/,
    );
    assertError(
      await call('PATCH', path, { body: { data: { type: 'hunting_ruleset', attributes: { rules: 'rule X {' } } } }),
      400,
      'InvalidArgumentError',
      /^E001 at line 1, column 8: syntax error/,
    );
    assertError(
      await call('PATCH', path, { body: { data: { type: 'hunting_ruleset', id: '999', attributes: { name: 'y' } } } }),
      400,
      'BadRequestError',
      /999/,
    );
    assert.equal(vt.rulesets()[0]?.name, 'x');
  });
});

describe('visibility and sharing', () => {
  test('a ruleset owned by B and shared with A is listed for A, editable, but not deletable by A', async () => {
    const id = await createId('bobs-ruleset', BOB);
    const own = await createId('alices-ruleset', ALICE);
    const share = await call('POST', `/intelligence/hunting_rulesets/${id}/relationships/editors`, {
      key: BOB,
      body: { data: [{ type: 'user', id: 'alice' }] },
    });
    assert.equal(share.status, 200, share.text);

    const list = await call('GET', '/intelligence/hunting_rulesets');
    assert.deepEqual(list.json.data.map((d: { id: string }) => d.id).sort(), [id, own].sort());
    assert.equal((await call('GET', `/intelligence/hunting_rulesets/${id}`)).status, 200);
    const patch = await call('PATCH', `/intelligence/hunting_rulesets/${id}`, {
      body: { data: { type: 'hunting_ruleset', attributes: { enabled: false } } },
    });
    assert.equal(patch.status, 200, patch.text);

    assertError(await call('DELETE', `/intelligence/hunting_rulesets/${id}`), 403, 'ForbiddenError');
    assert.ok(
      vt.rulesets().some((r) => r.id === id),
      'still there after the refused delete',
    );
    const addEditor = await call('POST', `/intelligence/hunting_rulesets/${id}/relationships/editors`, {
      body: { data: [{ type: 'user', id: 'dave' }] },
    });
    assertError(addEditor, 403, 'ForbiddenError');

    // Bob sees his ruleset but not Alice's.
    const bobList = await call('GET', '/intelligence/hunting_rulesets', { key: BOB });
    assert.deepEqual(
      bobList.json.data.map((d: { id: string }) => d.id),
      [id],
    );
  });

  test('a ruleset nobody shared is invisible: 404 on every route, absent from lists', async () => {
    const id = await createId('private', BOB);
    const base = `/intelligence/hunting_rulesets/${id}`;
    assertError(await call('GET', base), 404, 'NotFoundError', `Resource "${id}" not found`);
    assertError(
      await call('PATCH', base, { body: { data: { type: 'hunting_ruleset', attributes: { name: 'x' } } } }),
      404,
      'NotFoundError',
    );
    assertError(await call('DELETE', base), 404, 'NotFoundError');
    assertError(await call('GET', `${base}/relationships/editors`), 404, 'NotFoundError');
    assertError(await call('GET', `${base}/relationships/owner`), 404, 'NotFoundError');
    assert.deepEqual((await call('GET', '/intelligence/hunting_rulesets')).json.data, []);
    assert.equal(vt.rulesets()[0]?.name, 'private');
  });

  test('sharing with a group makes the ruleset visible to its members only', async () => {
    const seeded = vt.seedRuleset({
      owner: 'someone-else',
      name: 'shared with other',
      rules: RULE,
      editors: [{ type: 'group', id: 'other' }],
    });
    assert.equal((await call('GET', `/intelligence/hunting_rulesets/${seeded.id}`, { key: DAVE })).status, 200);
    assertError(await call('GET', `/intelligence/hunting_rulesets/${seeded.id}`, { key: ALICE }), 404, 'NotFoundError');
    const daveList = await call('GET', '/intelligence/hunting_rulesets', { key: DAVE });
    assert.deepEqual(
      daveList.json.data.map((d: { id: string }) => d.id),
      [seeded.id],
    );
  });

  test('/users/{me}/hunting_rulesets lists the same as /intelligence/hunting_rulesets; another user is 403', async () => {
    await createId('mine');
    vt.seedRuleset({ owner: 'bob', name: 'shared', rules: RULE, editors: [{ type: 'user', id: 'alice' }] });
    const a = await call('GET', '/intelligence/hunting_rulesets');
    const b = await call('GET', '/users/alice/hunting_rulesets');
    assert.equal(b.status, 200);
    assert.deepEqual(b.json.data, a.json.data);
    assert.equal(a.json.data.length, 2);
    assertError(await call('GET', '/users/bob/hunting_rulesets'), 403, 'ForbiddenError');
  });
});

describe('editors and owner relationships', () => {
  test('adding editors is a list, idempotent, and checkable', async () => {
    const id = await createId('shared');
    const path = `/intelligence/hunting_rulesets/${id}/relationships/editors`;
    const first = await call('POST', path, {
      body: {
        data: [
          { type: 'user', id: 'bob' },
          { type: 'group', id: 'soc' },
        ],
      },
    });
    assert.equal(first.status, 200, first.text);
    const again = await call('POST', path, {
      body: {
        data: [
          { type: 'user', id: 'bob' },
          { type: 'user', id: 'dave' },
          { type: 'user', id: 'dave' },
        ],
      },
    });
    assert.equal(again.status, 200);
    const list = await call('GET', path);
    assert.deepEqual(list.json.data, [
      { type: 'user', id: 'bob' },
      { type: 'group', id: 'soc' },
      { type: 'user', id: 'dave' },
    ]);
    assert.deepEqual(vt.rulesets()[0]?.editors.length, 3);
    assert.deepEqual((await call('GET', `${path}/bob`)).json, { data: true });
    assert.deepEqual((await call('GET', `${path}/soc`)).json, { data: true });
    assert.deepEqual((await call('GET', `${path}/zed`)).json, { data: false });
  });

  test('an unknown editor type or a non-list body is 400 and changes nothing', async () => {
    const id = await createId('shared');
    const path = `/intelligence/hunting_rulesets/${id}/relationships/editors`;
    assertError(
      await call('POST', path, {
        body: {
          data: [
            { type: 'user', id: 'bob' },
            { type: 'robot', id: 'r2' },
          ],
        },
      }),
      400,
      'BadRequestError',
      /robot/,
    );
    assertError(await call('POST', path, { body: { data: { type: 'user', id: 'bob' } } }), 400, 'BadRequestError', /list/);
    assert.deepEqual(vt.rulesets()[0]?.editors, []);
  });

  test('revoking an editor removes its access', async () => {
    const id = await createId('shared', BOB);
    const path = `/intelligence/hunting_rulesets/${id}/relationships/editors`;
    await call('POST', path, {
      key: BOB,
      body: {
        data: [
          { type: 'user', id: 'alice' },
          { type: 'user', id: 'dave' },
        ],
      },
    });
    assert.equal((await call('GET', `/intelligence/hunting_rulesets/${id}`, { key: DAVE })).status, 200);
    // Alice (an editor) cannot revoke Dave.
    assertError(await call('DELETE', `${path}/dave`, { key: ALICE }), 403, 'ForbiddenError');
    const del = await call('DELETE', `${path}/dave`, { key: BOB });
    assert.equal(del.status, 200);
    assert.deepEqual((await call('GET', `${path}/dave`, { key: BOB })).json, { data: false });
    assertError(await call('GET', `/intelligence/hunting_rulesets/${id}`, { key: DAVE }), 404, 'NotFoundError');
    assert.deepEqual(vt.rulesets()[0]?.editors, [{ type: 'user', id: 'alice' }]);
  });

  test('the editors list is paginated with cursors', async () => {
    const id = await createId('many editors');
    const editors = Array.from({ length: 5 }, (_, i) => ({ type: 'user', id: `user${i}` }));
    await call('POST', `/intelligence/hunting_rulesets/${id}/relationships/editors`, { body: { data: editors } });
    const pages = await allPages(`/intelligence/hunting_rulesets/${id}/relationships/editors?limit=2`);
    assert.deepEqual(
      pages.map((p) => p.json.data.length),
      [2, 2, 1],
    );
    assert.deepEqual(
      pages.flatMap((p) => p.json.data),
      editors,
    );
    assert.equal(typeof pages[0]?.json.meta.cursor, 'string');
    assert.equal(pages[2]?.json.meta, undefined);
  });

  test('owner can be read and transferred within the group', async () => {
    const id = await createId('transfer', BOB);
    const path = `/intelligence/hunting_rulesets/${id}/relationships/owner`;
    assert.deepEqual((await call('GET', path, { key: BOB })).json.data, { type: 'user', id: 'bob' });
    assertError(await call('POST', path, { key: BOB, body: { data: { type: 'user', id: 'nobody' } } }), 404, 'NotFoundError', /nobody/);
    assertError(await call('POST', path, { key: BOB, body: { data: { type: 'user', id: 'dave' } } }), 403, 'ForbiddenError');
    assertError(await call('POST', path, { key: BOB, body: { data: { type: 'group', id: 'soc' } } }), 400, 'BadRequestError');
    assert.equal(vt.rulesets()[0]?.owner, 'bob');

    const moved = await call('POST', path, { key: BOB, body: { data: { type: 'user', id: 'alice' } } });
    assert.equal(moved.status, 200, moved.text);
    assert.deepEqual((await call('GET', path, { key: ALICE })).json.data, { type: 'user', id: 'alice' });
    assertError(await call('GET', path, { key: BOB }), 404, 'NotFoundError');
    // Alice now owns it, so she can delete it.
    assert.equal((await call('DELETE', `/intelligence/hunting_rulesets/${id}`)).status, 200);
  });

  test('only the owner transfers ownership', async () => {
    const seeded = vt.seedRuleset({ owner: 'bob', name: 's', rules: RULE, editors: [{ type: 'user', id: 'alice' }] });
    const r = await call('POST', `/intelligence/hunting_rulesets/${seeded.id}/relationships/owner`, {
      body: { data: { type: 'user', id: 'alice' } },
    });
    assertError(r, 403, 'ForbiddenError');
    assert.equal(vt.rulesets()[0]?.owner, 'bob');
  });
});

describe('listing', () => {
  test('filter name: matches whole words across more than two pages', async () => {
    for (let i = 0; i < 12; i++) await createId(`octi-foo-${i}`);
    for (let i = 0; i < 8; i++) await createId(`foobar-${i}`);
    for (let i = 0; i < 3; i++) await createId(`Foo ${i}`, ALICE, { enabled: false });

    const pages = await allPages('/intelligence/hunting_rulesets?filter=name:foo&limit=5');
    assert.ok(pages.length > 2, `expected more than two pages, got ${pages.length}`);
    for (const p of pages) assert.ok(p.json.data.length <= 5);
    const names: string[] = pages.flatMap((p) => p.json.data.map((d: { attributes: { name: string } }) => d.attributes.name));
    assert.equal(names.length, 15);
    assert.equal(new Set(names).size, 15, 'no ruleset served twice');
    assert.ok(
      names.every((n) => !n.startsWith('foobar')),
      'name:foo must not find foobar',
    );
    // Cursor and next only while more remain.
    for (const p of pages.slice(0, -1)) {
      assert.equal(typeof p.json.meta.cursor, 'string');
      assert.ok(p.json.links.next.includes(encodeURIComponent(p.json.meta.cursor)) || p.json.links.next.includes(p.json.meta.cursor));
    }
    const last = pages[pages.length - 1];
    assert.equal(last?.json.meta?.cursor, undefined);
    assert.equal(last?.json.links.next, undefined);

    const enabledOnly = await allPages('/intelligence/hunting_rulesets?filter=' + encodeURIComponent('enabled:true name:FOO') + '&limit=5');
    assert.equal(enabledOnly.flatMap((p) => p.json.data).length, 12);
    const disabled = await call('GET', '/intelligence/hunting_rulesets?filter=' + encodeURIComponent('enabled:false foo'));
    assert.deepEqual(
      disabled.json.data.map((d: { attributes: { name: string } }) => d.attributes.name),
      ['Foo 0', 'Foo 1', 'Foo 2'],
    );
  });

  test('a multi-word name: value needs every word; rules: and tag: filter too', async () => {
    await createId('octi-d25d3c3c-4c30');
    await createId('octi-d25d3c3c-other');
    await createId('tagged', ALICE, { tags: ['APT42'], rules: 'rule Needle { strings: $a = "hay" condition: $a }' });
    const byName = await call('GET', '/intelligence/hunting_rulesets?filter=' + encodeURIComponent('name:octi-d25d3c3c-4c30'));
    assert.deepEqual(
      byName.json.data.map((d: { attributes: { name: string } }) => d.attributes.name),
      ['octi-d25d3c3c-4c30'],
    );
    const byRules = await call('GET', '/intelligence/hunting_rulesets?filter=rules:needle');
    assert.deepEqual(
      byRules.json.data.map((d: { attributes: { name: string } }) => d.attributes.name),
      ['tagged'],
    );
    const byRulesPart = await call('GET', '/intelligence/hunting_rulesets?filter=rules:need');
    assert.deepEqual(byRulesPart.json.data, []);
    const byTag = await call('GET', '/intelligence/hunting_rulesets?filter=tag:apt42');
    assert.deepEqual(
      byTag.json.data.map((d: { attributes: { name: string } }) => d.attributes.name),
      ['tagged'],
    );
  });

  test('default page size is 10, limit is capped at pageMax (40 by default)', async () => {
    for (let i = 0; i < 45; i++) vt.seedRuleset({ owner: 'alice', name: `r${i}`, rules: RULE });
    const first = await call('GET', '/intelligence/hunting_rulesets');
    assert.equal(first.json.data.length, 10);
    assert.equal(typeof first.json.meta.cursor, 'string');
    const capped = await call('GET', '/intelligence/hunting_rulesets?limit=1000');
    assert.equal(capped.json.data.length, 40);
    const pages = await allPages('/intelligence/hunting_rulesets?limit=40');
    assert.deepEqual(
      pages.map((p) => p.json.data.length),
      [40, 5],
    );
  });

  test('the pageMax option changes the cap', async () => {
    const small = await startVirusTotalEmulator({ users: [{ apiKey: ALICE, user: 'alice' }], pageMax: 3 });
    try {
      for (let i = 0; i < 5; i++) small.seedRuleset({ owner: 'alice', name: `r${i}`, rules: RULE });
      const r = await call('GET', '/intelligence/hunting_rulesets?limit=40', { emulator: small });
      assert.equal(r.json.data.length, 3);
      assert.match(r.json.links.next, /limit=3/);
    } finally {
      await small.close();
    }
  });

  test('links point at the per-user collection and next can be followed as is', async () => {
    for (let i = 0; i < 3; i++) await createId(`n${i}`);
    const r = await call('GET', '/intelligence/hunting_rulesets?limit=2');
    assert.equal(r.json.links.self, `${vt.url}/users/alice/hunting_rulesets?limit=2`);
    assert.ok(r.json.links.next.startsWith(`${vt.url}/users/alice/hunting_rulesets?`));
    const next = await call('GET', r.json.links.next);
    assert.equal(next.status, 200);
    assert.equal(next.json.data.length, 1);
    assert.equal(next.json.data[0].attributes.name, 'n2');
  });

  test('order by name, creation_date and modification_date, ascending and descending', async () => {
    vt.seedRuleset({ owner: 'alice', name: 'bravo', rules: RULE, creation_date: 300, modification_date: 900 });
    vt.seedRuleset({ owner: 'alice', name: 'alpha', rules: RULE, creation_date: 200, modification_date: 700 });
    vt.seedRuleset({ owner: 'alice', name: 'charlie', rules: RULE, creation_date: 100, modification_date: 800 });
    const names = async (order: string): Promise<string[]> => {
      const r = await call('GET', `/intelligence/hunting_rulesets?order=${encodeURIComponent(order)}`);
      assert.equal(r.status, 200, r.text);
      return r.json.data.map((d: { attributes: { name: string } }) => d.attributes.name);
    };
    assert.deepEqual(await names(''), ['charlie', 'alpha', 'bravo']);
    assert.deepEqual(await names('name'), ['alpha', 'bravo', 'charlie']);
    assert.deepEqual(await names('name+'), ['alpha', 'bravo', 'charlie']);
    assert.deepEqual(await names('name-'), ['charlie', 'bravo', 'alpha']);
    assert.deepEqual(await names('creation_date-'), ['bravo', 'alpha', 'charlie']);
    assert.deepEqual(await names('modification_date+'), ['alpha', 'charlie', 'bravo']);
    assert.deepEqual(await names('modification_date-'), ['bravo', 'charlie', 'alpha']);
  });

  test('default order is creation order, stable for rulesets created in the same second', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await createId(`same-second-${i}`));
    const pages = await allPages('/intelligence/hunting_rulesets?limit=5');
    assert.deepEqual(
      pages.flatMap((p) => p.json.data.map((d: { id: string }) => d.id)),
      ids,
    );
  });

  test('deleting a served ruleset between pages neither skips nor repeats the others', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await createId(`r${i}`));
    const first = await call('GET', '/intelligence/hunting_rulesets?limit=3');
    await call('DELETE', `/intelligence/hunting_rulesets/${ids[0]}`);
    const second = await call('GET', first.json.links.next);
    assert.deepEqual(
      second.json.data.map((d: { id: string }) => d.id),
      ids.slice(3),
    );
  });

  test('bad cursor, limit, order or filter is a 400', async () => {
    for (let i = 0; i < 3; i++) await createId(`r${i}`);
    const first = await call('GET', '/intelligence/hunting_rulesets?limit=1&filter=name:r0');
    await createId('r0 again');
    const withCursor = await call('GET', '/intelligence/hunting_rulesets?limit=1&filter=name:r0');
    const cursor = withCursor.json.meta.cursor as string;
    assert.equal(first.json.meta, undefined, 'only one match at first: no cursor');
    assertError(await call('GET', '/intelligence/hunting_rulesets?cursor=garbage!'), 400, 'InvalidArgumentError', /cursor/);
    assertError(await call('GET', '/intelligence/hunting_rulesets?cursor=eyJ4IjoxfQ'), 400, 'InvalidArgumentError', /cursor/);
    // A cursor is tied to the query it came from.
    assertError(await call('GET', `/intelligence/hunting_rulesets?cursor=${cursor}&filter=name:r1`), 400, 'InvalidArgumentError', /cursor/);
    assertError(
      await call('GET', `/intelligence/hunting_rulesets?cursor=${cursor}&filter=name:r0`, { key: BOB }),
      400,
      'InvalidArgumentError',
      /cursor/,
    );
    const ok = await call('GET', `/intelligence/hunting_rulesets?cursor=${cursor}&filter=name:r0&limit=1`);
    assert.equal(ok.json.data[0].attributes.name, 'r0 again');
    assertError(await call('GET', '/intelligence/hunting_rulesets?limit=abc'), 400, 'InvalidArgumentError', /limit/);
    assertError(await call('GET', '/intelligence/hunting_rulesets?limit=0'), 400, 'InvalidArgumentError', /limit/);
    assertError(await call('GET', '/intelligence/hunting_rulesets?order=size-'), 400, 'InvalidArgumentError', /order/);
    assertError(await call('GET', '/intelligence/hunting_rulesets?filter=owner:bob'), 400, 'InvalidArgumentError', /owner/);
    assertError(await call('GET', '/intelligence/hunting_rulesets?filter=enabled:maybe'), 400, 'InvalidArgumentError', /enabled/);
  });
});

describe('delete all', () => {
  test('DELETE /intelligence/hunting_rulesets deletes owned rulesets, unshares the rest, and is logged', async () => {
    await createId('a1');
    await createId('a2');
    const bobs = vt.seedRuleset({
      owner: 'bob',
      name: 'b',
      rules: RULE,
      editors: [
        { type: 'user', id: 'alice' },
        { type: 'user', id: 'dave' },
      ],
    });
    const r = await call('DELETE', '/intelligence/hunting_rulesets');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.data.type, 'operation');
    assert.equal(typeof r.json.data.id, 'string');
    assert.deepEqual(
      vt.rulesets().map((x) => x.id),
      [bobs.id],
    );
    assert.deepEqual(vt.rulesets()[0]?.editors, [{ type: 'user', id: 'dave' }]);
    assert.ok(vt.requests().some((q) => q.method === 'DELETE' && q.path === '/intelligence/hunting_rulesets' && q.apiKeyUser === 'alice'));
  });
});

describe('fault injection', () => {
  test('429 QuotaExceededError with Retry-After, consumed after one use', async () => {
    vt.injectFault({ method: 'GET', path: '/intelligence/hunting_rulesets', status: 429, retryAfterSeconds: 7 });
    const faulted = await call('GET', '/intelligence/hunting_rulesets');
    assertError(faulted, 429, 'QuotaExceededError');
    assert.equal(faulted.headers.get('retry-after'), '7');
    const after = await call('GET', '/intelligence/hunting_rulesets');
    assert.equal(after.status, 200);
    assert.equal(after.headers.get('retry-after'), null);
  });

  test('429 TooManyRequestsError, custom message, no Retry-After unless asked', async () => {
    vt.injectFault({ status: 429, code: 'TooManyRequestsError', message: 'slow down' });
    const r = await call('GET', '/intelligence/hunting_rulesets');
    assertError(r, 429, 'TooManyRequestsError', 'slow down');
    assert.equal(r.headers.get('retry-after'), null);
  });

  test('times: 503 TransientError twice, then success; the method must match', async () => {
    vt.injectFault({ method: 'POST', path: '/intelligence/hunting_rulesets', status: 503, times: 2 });
    assert.equal((await call('GET', '/intelligence/hunting_rulesets')).status, 200, 'GET is not affected');
    assertError(await create({ name: 'x' }), 503, 'TransientError');
    assertError(await create({ name: 'x' }), 503, 'TransientError');
    assert.equal(vt.rulesets().length, 0, 'a fault before commit creates nothing');
    assert.equal((await create({ name: 'x' })).status, 200);
    assert.deepEqual(
      vt.requests().map((r) => r.status),
      [200, 503, 503, 200],
    );
  });

  test('504 DeadlineExceededError before commit creates nothing', async () => {
    vt.injectFault({ method: 'POST', path: '/intelligence/hunting_rulesets', status: 504 });
    assertError(await create({ name: 'lost' }), 504, 'DeadlineExceededError');
    assert.equal(vt.rulesets().length, 0);
  });

  test('afterCommit: the create is applied, then answered 504; the ruleset exists', async () => {
    vt.injectFault({ method: 'POST', path: '/intelligence/hunting_rulesets', status: 504, afterCommit: true });
    assertError(await create({ name: 'octi-committed' }), 504, 'DeadlineExceededError');
    assert.deepEqual(
      vt.rulesets().map((r) => r.name),
      ['octi-committed'],
    );
    const found = await call('GET', '/intelligence/hunting_rulesets?filter=name:octi-committed');
    assert.equal(found.json.data.length, 1);
    assert.equal(vt.requests()[0]?.status, 504);
  });

  test('afterCommit on PATCH and DELETE applies them too', async () => {
    const id = await createId('before');
    vt.injectFault({ method: 'PATCH', status: 503, afterCommit: true });
    vt.injectFault({ method: 'DELETE', status: 500, afterCommit: true });
    const patch = await call('PATCH', `/intelligence/hunting_rulesets/${id}`, {
      body: { data: { type: 'hunting_ruleset', attributes: { name: 'after' } } },
    });
    assertError(patch, 503, 'TransientError');
    assert.equal(vt.rulesets()[0]?.name, 'after');
    assertError(await call('DELETE', `/intelligence/hunting_rulesets/${id}`), 500, 'InternalError');
    assert.equal(vt.rulesets().length, 0);
  });

  test('nonJsonBody answers an HTML 502 like a gateway', async () => {
    vt.injectFault({ status: 502, nonJsonBody: true });
    const r = await call('GET', '/intelligence/hunting_rulesets');
    assert.equal(r.status, 502);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
    assert.match(r.text, /^<html>/);
    assert.throws(() => JSON.parse(r.text));
  });

  test('RegExp paths, first matching rule wins, clearFaults disarms', async () => {
    const id = await createId('x');
    vt.injectFault({ path: /\/relationships\/editors$/, status: 403, times: 5 });
    assert.equal((await call('GET', `/intelligence/hunting_rulesets/${id}`)).status, 200);
    assertError(await call('GET', `/intelligence/hunting_rulesets/${id}/relationships/editors`), 403, 'ForbiddenError');
    assertError(await call('GET', `/intelligence/hunting_rulesets/${id}/relationships/editors`), 403, 'ForbiddenError');
    vt.clearFaults();
    assert.equal((await call('GET', `/intelligence/hunting_rulesets/${id}/relationships/editors`)).status, 200);
  });

  test('faults apply before authentication, like a gateway, and are logged with their status', async () => {
    vt.injectFault({ status: 401, code: 'WrongCredentialsError', message: 'injected' });
    assertError(await call('GET', '/intelligence/hunting_rulesets'), 401, 'WrongCredentialsError', 'injected');
    assert.deepEqual(
      vt.requests().map((r) => [r.status, r.apiKeyUser]),
      [[401, 'alice']],
    );
  });
});

describe('rate limit and latency', () => {
  test('beyond maxRequestsPerSecond a key gets 429 QuotaExceededError; other keys are unaffected', async () => {
    vt.setMaxRequestsPerSecond(3);
    const replies = await Promise.all(Array.from({ length: 5 }, () => call('GET', '/intelligence/hunting_rulesets')));
    const statuses = replies.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    const limited = replies.find((r) => r.status === 429);
    assert.ok(limited);
    assertError(limited, 429, 'QuotaExceededError');
    assert.equal((await call('GET', '/intelligence/hunting_rulesets', { key: BOB })).status, 200);
    vt.setMaxRequestsPerSecond(undefined);
    assert.equal((await call('GET', '/intelligence/hunting_rulesets')).status, 200);
  });

  test('the window slides: after a second the key is admitted again', async () => {
    vt.setMaxRequestsPerSecond(1);
    assert.equal((await call('GET', '/intelligence/hunting_rulesets')).status, 200);
    assert.equal((await call('GET', '/intelligence/hunting_rulesets')).status, 429);
    await sleep(1100);
    assert.equal((await call('GET', '/intelligence/hunting_rulesets')).status, 200);
  });

  test('the maxRequestsPerSecond option is applied from start and restored by reset', async () => {
    const limited = await startVirusTotalEmulator({ users: [{ apiKey: ALICE, user: 'alice' }], maxRequestsPerSecond: 1 });
    try {
      assert.equal((await call('GET', '/intelligence/hunting_rulesets', { emulator: limited })).status, 200);
      assert.equal((await call('GET', '/intelligence/hunting_rulesets', { emulator: limited })).status, 429);
      limited.setMaxRequestsPerSecond(undefined);
      assert.equal((await call('GET', '/intelligence/hunting_rulesets', { emulator: limited })).status, 200);
      limited.reset();
      assert.equal((await call('GET', '/intelligence/hunting_rulesets', { emulator: limited })).status, 200);
      assert.equal((await call('GET', '/intelligence/hunting_rulesets', { emulator: limited })).status, 429);
    } finally {
      await limited.close();
    }
  });

  test('latency holds the answer on a timer without blocking the event loop', async () => {
    vt.setLatency(300);
    let answered = false;
    const pending = call('GET', '/intelligence/hunting_rulesets').then((r) => {
      answered = true;
      return r;
    });
    // The emulator runs in this process: this timer firing proves the loop is not blocked.
    await sleep(100);
    assert.equal(answered, false, 'answer is held back');
    assert.equal(vt.requests().length, 0, 'logged only when answered');
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(vt.requests().length, 1);
    vt.setLatency(0);
  });
});

describe('control surface', () => {
  test('seed, list rulesets, and the seeded ruleset is visible through the API', async () => {
    const seeded = await control('POST', '/rulesets', {
      owner: 'bob',
      name: 'human made',
      rules: RULE,
      editors: [{ type: 'user', id: 'alice' }],
    });
    assert.equal(seeded.status, 200, seeded.text);
    assert.equal(seeded.json.owner, 'bob');
    const listed = await control('GET', '/rulesets');
    assert.deepEqual(
      listed.json.map((r: { id: string }) => r.id),
      [seeded.json.id],
    );
    const viaApi = await call('GET', `/intelligence/hunting_rulesets/${seeded.json.id}`);
    assert.equal(viaApi.json.data.attributes.name, 'human made');
    assertError(await control('POST', '/rulesets', { owner: 'bob' }), 400, 'BadRequestError');
  });

  test('faults, latency, rate limit and invalid pattern can be set over HTTP', async () => {
    const f = await control('POST', '/faults', { method: 'POST', path: '/intelligence/hunting_rulesets', status: 504, afterCommit: true });
    assert.equal(f.status, 200, f.text);
    assertError(await create({ name: 'via control' }), 504, 'DeadlineExceededError');
    assert.equal(vt.rulesets().length, 1);

    await control('POST', '/faults', { status: 503, times: 3 });
    assert.equal((await control('DELETE', '/faults')).status, 200);
    assert.equal((await call('GET', '/intelligence/hunting_rulesets')).status, 200);

    assertError(await control('POST', '/faults', { status: 418 }), 400, 'BadRequestError');

    assert.equal((await control('POST', '/rate-limit', { rps: 1 })).status, 200);
    assert.equal((await call('GET', '/intelligence/hunting_rulesets')).status, 200);
    assert.equal((await call('GET', '/intelligence/hunting_rulesets')).status, 429);
    assert.equal((await control('POST', '/rate-limit', { rps: null })).status, 200);
    assert.equal((await call('GET', '/intelligence/hunting_rulesets')).status, 200);

    assert.equal((await control('POST', '/latency', { ms: 0 })).status, 200);
    assertError(await control('POST', '/latency', { ms: -1 }), 400, 'BadRequestError');

    assert.equal((await control('POST', '/invalid-rule-pattern', { pattern: 'evil' })).status, 200);
    const evil = 'rule R { strings: $e = "evil" condition: $e }';
    assertError(await create({ name: 'e', rules: evil }), 400, 'InvalidArgumentError');
    await control('POST', '/invalid-rule-pattern', { pattern: null });
    assert.equal((await create({ name: 'e', rules: evil })).status, 200);
  });

  test('requests can be read and cleared; control calls are not logged', async () => {
    await call('GET', '/intelligence/hunting_rulesets?limit=3');
    const log = await control('GET', '/requests');
    assert.equal(log.json.length, 1);
    assert.equal(log.json[0].path, '/intelligence/hunting_rulesets');
    assert.deepEqual(log.json[0].query, { limit: '3' });
    assert.equal((await control('DELETE', '/requests')).status, 200);
    assert.deepEqual((await control('GET', '/requests')).json, []);
    assert.deepEqual(vt.requests(), []);
  });

  test('reset drops rulesets, requests and faults', async () => {
    await createId('x');
    vt.injectFault({ status: 503, times: 10 });
    assert.equal((await control('POST', '/reset')).status, 200);
    assert.deepEqual(vt.rulesets(), []);
    assert.deepEqual(vt.requests(), []);
    assert.equal((await call('GET', '/intelligence/hunting_rulesets')).status, 200);
  });

  test('unknown control and API paths are 404 in the error envelope', async () => {
    assertError(await control('GET', '/nothing'), 404, 'NotFoundError');
    assertError(await call('GET', '/files/abc'), 404, 'NotFoundError');
    assertError(await call('PUT', '/intelligence/hunting_rulesets'), 405, 'MethodNotAllowedError');
  });
});

describe('in-process API', () => {
  test('rulesets() and requests() return copies', async () => {
    await createId('x');
    const copy = vt.rulesets();
    const first = copy[0];
    assert.ok(first);
    first.name = 'mutated';
    first.editors.push({ type: 'user', id: 'intruder' });
    assert.equal(vt.rulesets()[0]?.name, 'x');
    assert.deepEqual(vt.rulesets()[0]?.editors, []);
  });

  test('seedRuleset keeps a chosen id and refuses a duplicate one', () => {
    const r = vt.seedRuleset({ id: '1234567890123456', owner: 'bob', name: 'n', rules: 'not even yara' });
    assert.equal(r.id, '1234567890123456');
    assert.throws(() => vt.seedRuleset({ id: '1234567890123456', owner: 'bob', name: 'n', rules: RULE }));
  });

  test('url and port describe the listening server', () => {
    assert.equal(vt.url, `http://127.0.0.1:${vt.port}/api/v3`);
    assert.ok(vt.port > 0);
  });
});

test('GET /users/{id} answers the caller by user id or by API key, and the log hides the key', async () => {
  const vt = await startVirusTotalEmulator();
  try {
    for (const id of ['connector', 'vt-test-key']) {
      const response = await fetch(`${vt.url}/users/${id}`, { headers: { 'x-apikey': 'vt-test-key' } });
      assert.equal(response.status, 200);
      const body = (await response.json()) as { data: { type: string; id: string } };
      assert.deepEqual([body.data.type, body.data.id], ['user', 'connector']);
    }
    const other = await fetch(`${vt.url}/users/someone-else`, { headers: { 'x-apikey': 'vt-test-key' } });
    assert.equal(other.status, 404);
    assert.ok(vt.requests().every((request) => !request.path.includes('vt-test-key')));
  } finally {
    await vt.close();
  }
});
