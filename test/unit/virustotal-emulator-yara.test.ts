// The VirusTotal emulator compiles every ruleset with YARA-X for the ruleset's match_object_type,
// over real HTTP: each rule a YARA compiler rejects is a 400 in VirusTotal's error envelope with
// the compiler's code, line and column; network rules compile for their own match type only.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startVirusTotalEmulator, type VirusTotalEmulator } from '../../emulators/virustotal';

const KEY = 'vt-test-key';
let vt: VirusTotalEmulator;

before(async () => {
  vt = await startVirusTotalEmulator();
});
after(() => vt.close());
beforeEach(() => vt.reset());

async function send(method: string, path: string, attributes: Record<string, unknown>, id?: string) {
  const response = await fetch(`${vt.url}${path}`, {
    method,
    headers: { 'x-apikey': KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ data: { type: 'hunting_ruleset', ...(id ? { id } : {}), attributes } }),
  });
  return {
    status: response.status,
    body: (await response.json()) as {
      data?: { id: string; attributes: Record<string, unknown> };
      error?: { code: string; message: string };
    },
  };
}

const create = (rules: string, matchObjectType?: string) =>
  send('POST', '/intelligence/hunting_rulesets', { name: 'r', rules, ...(matchObjectType ? { match_object_type: matchObjectType } : {}) });

/** [what, rules, match type, the compiler's message]. The first twelve are the issue's. */
const INVALID_RULES: Array<[string, string, string, RegExp]> = [
  ['undefined $b', 'rule r { strings: $a = "x" condition: $b }', 'file', /^E025 at line 1, column 39: unknown pattern `\$b`/],
  ['unused string', 'rule r { strings: $a = "x" $b = "y" condition: $a }', 'file', /^E022 at line 1, column 28: unused pattern `\$b`/],
  [
    'unknown import',
    'import "nope"\nrule r { strings: $a = "x" condition: $a }',
    'file',
    /^E010 at line 1, column 1: unknown module `nope`/,
  ],
  [
    'duplicate string id',
    'rule r { strings: $a = "x" $a = "y" condition: any of them }',
    'file',
    /^E023 at line 1, column 28: duplicate pattern `\$a`/,
  ],
  ['bad hex', 'rule r { strings: $a = { 4D 5Z } condition: $a }', 'file', /^E001 at line 1, column 29: syntax error/],
  [
    'bad regex',
    'rule r { strings: $a = /ab(c/ condition: $a }',
    'file',
    /^E014 at line 1, column 27: invalid regular expression \(unclosed group\)/,
  ],
  [
    'unknown pe field',
    'import "pe"\nrule r { condition: pe.no_such_field == 1 }',
    'file',
    /^E008 at line 2, column 24: unknown field or method `no_such_field`/,
  ],
  ['type error', 'rule r { condition: filesize contains "MZ" }', 'file', /^E002 at line 1, column 21: wrong type/],
  ['module used without import', 'rule r { condition: pe.is_pe }', 'file', /^E009 at line 1, column 21: unknown identifier `pe`/],
  [
    'duplicate rule',
    'rule r { condition: filesize > 0 }\nrule r { condition: filesize > 1 }',
    'file',
    /^E012 at line 2, column 6: duplicate rule `r`/,
  ],
  ['unknown identifier', 'rule r { condition: filesize > 0 and foo }', 'file', /^E009 at line 1, column 38: unknown identifier `foo`/],
  ['missing condition', 'rule r { strings: $a = "x" }', 'file', /^E001 at line 1, column 28: syntax error/],
  [
    'vt.net in a file ruleset',
    'import "vt"\nrule r { condition: vt.net.url.raw contains "evil" }',
    'file',
    /^E100 at line 2, column 24: vt\.net is not supported in rulesets matching against files/,
  ],
  [
    'vt.metadata in a url ruleset',
    'import "vt"\nrule r { condition: vt.metadata.new_file }',
    'url',
    /^E100 at line 2, column 24: vt\.metadata is supported only in rulesets matching against files/,
  ],
  [
    'vt.net.url in a domain ruleset',
    'import "vt"\nrule r { condition: vt.net.url.raw contains "evil" }',
    'domain',
    /^E100 at line 2, column 28: vt\.net\.url is supported only in rulesets matching against URLs/,
  ],
  [
    'vt.net.domain in an ip_address ruleset',
    'import "vt"\nrule r { condition: vt.net.domain.raw contains "evil" }',
    'ip_address',
    /^E100 .*vt\.net\.domain is supported only in rulesets matching against URLs or domains/,
  ],
  [
    'legacy new_file in a url ruleset',
    'rule r { condition: new_file }',
    'url',
    /^E009 at line 1, column 21: unknown identifier `new_file`/,
  ],
  ['include', 'include "other.yar"\nrule r { condition: filesize > 0 }', 'file', /^E043 at line 1, column 1: include file not found/],
  [
    'unterminated string',
    'rule r { strings: $a = "x\n condition: $a }',
    'file',
    /^E001 at line 1, column 24: syntax error \(unclosed literal string\)/,
  ],
  ['empty hex string', 'rule r { strings: $a = { } condition: $a }', 'file', /^E001 at line 1, column 26: syntax error/],
  [
    'hex string ending with a jump',
    'rule r { strings: $a = { 4D 5A [2-4] } condition: $a }',
    'file',
    /^E001 at line 1, column 38: syntax error/,
  ],
  [
    'inverted jump',
    'rule r { strings: $a = { 4D [4-2] 5A } condition: $a }',
    'file',
    /^E024 at line 1, column 29: invalid pattern `\$a` \(lower bound \(4\) is greater than upper bound \(2\)\)/,
  ],
  [
    'xor with nocase',
    'rule r { strings: $a = "abc" xor nocase condition: $a }',
    'file',
    /^E019 at line 1, column 30: invalid modifier combination: `xor` `nocase`/,
  ],
  [
    'empty text string',
    'rule r { strings: $a = "" condition: $a }',
    'file',
    /^E024 at line 1, column 24: invalid pattern `\$a` \(this pattern is too short\)/,
  ],
  [
    'unknown escape sequence',
    'rule r { strings: $a = "\\q" condition: $a }',
    'file',
    /^E029 at line 1, column 25: invalid escape sequence/,
  ],
  ['offset given as text', 'rule r { strings: $a = "x" condition: $a at "zero" }', 'file', /^E002 at line 1, column 45: wrong type/],
  ['division written as a slash', 'rule r { condition: filesize / 2 > 1 }', 'file', /^E001 .*syntax error/],
  [
    'mismatching types in a url ruleset',
    'import "vt"\nrule r { condition: vt.net.url.raw > 3 }',
    'url',
    /^E003 at line 2, column 21: mismatching types/,
  ],
];

describe('the emulator compiles rules as VirusTotal does', () => {
  test('every invalid rule is refused with 400 InvalidArgumentError and the compiler message', async () => {
    for (const [what, rules, type, message] of INVALID_RULES) {
      const answer = await create(rules, type);
      assert.equal(answer.status, 400, `${what} must be refused`);
      assert.equal(answer.body.error?.code, 'InvalidArgumentError', what);
      assert.match(answer.body.error?.message ?? '', message, what);
    }
    assert.equal(vt.rulesets().length, 0);
  });

  test('network rules compile for their match type, and the stored type is what was sent', async () => {
    const accepted: Array<[string, string]> = [
      ['import "vt"\nrule r { condition: vt.net.url.raw contains "/gate.php" }', 'url'],
      ['import "vt"\nrule r { condition: vt.net.domain.raw endswith ".example" }', 'domain'],
      ['import "vt"\nrule r { condition: vt.net.ip.raw == "203.0.113.7" }', 'ip_address'],
      // VirusTotal's docs spell it `ip`; both are accepted and stored as sent.
      ['import "vt"\nrule r { condition: vt.net.ip.raw == "203.0.113.7" }', 'ip'],
      ['import "vt"\nrule r { condition: vt.metadata.new_file }', 'file'],
      // No match_object_type: a file ruleset; VirusTotal's legacy variables compile there.
      ['rule r { condition: new_file and positives > 3 }', ''],
    ];
    for (const [rules, type] of accepted) {
      const answer = await create(rules, type || undefined);
      assert.equal(answer.status, 200, `${type}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.data?.attributes.match_object_type, type || 'file');
    }
  });

  test('a PATCH is compiled for the type the ruleset will have: its own, or the new one', async () => {
    const urlRule = 'import "vt"\nrule r { condition: vt.net.url.raw contains "x" }';
    const created = await create('import "vt"\nrule r { condition: vt.metadata.new_file and filesize > 0 }');
    const id = created.body.data!.id;
    const path = `/intelligence/hunting_rulesets/${id}`;
    const refused = await send('PATCH', path, { rules: urlRule }, id);
    assert.equal(refused.status, 400);
    assert.match(refused.body.error!.message, /^E100 .*not supported in rulesets matching against files/);
    const typeOnly = await send('PATCH', path, { match_object_type: 'url' }, id);
    assert.equal(typeOnly.status, 400, 'the current rules do not compile for url');
    assert.match(typeOnly.body.error!.message, /^E100 .*vt\.metadata is supported only in rulesets matching against files/);
    const both = await send('PATCH', path, { rules: urlRule, match_object_type: 'url' }, id);
    assert.equal(both.status, 200, JSON.stringify(both.body));
    assert.equal(vt.rulesets()[0]?.match_object_type, 'url');
    assert.equal(vt.rulesets()[0]?.rules, urlRule);
  });
});
