/**
 * Rules checked with VirusTotal's compiler (YARA-X) before any request, network Livehunt
 * (match_object_type chosen per indicator), and new files only, end to end: OpenCTI emulator,
 * starter and worker as child processes, a real Temporal server, and the VirusTotal emulator,
 * which compiles every ruleset with YARA-X as VirusTotal does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { reapplySignal } from '../../workflows/definitions';
import { waitFor } from '../support/processes';
import { Stack } from '../support/stack';
import { useTestTemporal } from '../support/temporal';
import { rule } from '../support/yara';

const temporal = useTestTemporal();
const HEADERS = { 'x-apikey': 'vt-test-key', 'content-type': 'application/json' };

describe('rules checked before sending; network rulesets', () => {
  let stack: Stack;
  before(async () => {
    stack = await Stack.start(temporal());
    // Once a first ruleset exists, the worker's start-up reads are behind us: from here on every
    // request the emulator records is caused by the indicators below.
    const first = stack.opencti.createIndicator({ name: 'Warm_Up', pattern: rule('Warm_Up', 'filesize > 0') });
    await stack.applied(first.internalId, first.eventId);
  });
  after(() => stack?.stop());

  test('an invalid rule costs no VirusTotal request, holds invalid-rule with the compiler message, and the fix goes through', async () => {
    stack.vt.clearRequests();
    const broken = 'rule Undefined_B {\n  strings:\n    $a = "acme-cfg"\n  condition:\n    $b\n}';
    const created = stack.opencti.createIndicator({ name: 'Undefined_B', pattern: broken });
    const state = await stack.applied(created.internalId, created.eventId);
    assert.equal(state.status, 'invalid-rule');
    assert.match(
      state.lastError?.message ?? '',
      /^YARA-X refuses the rule \(file ruleset; no match type compiles it\): E025 at line 5, column 5: unknown pattern `\$b` \(this pattern is not declared in the `strings` section\)$/,
    );
    assert.match(state.reason, /rejected the rule: YARA-X refuses the rule .*E025 at line 5, column 5/);
    assert.deepEqual(stack.vt.requests(), [], 'no VirusTotal request at all');
    const description = await stack.handle(created.internalId).describe();
    assert.equal(description.searchAttributes.LivehuntStatus?.[0], 'invalid-rule');
    assert.equal(description.status.name, 'RUNNING', 'stays open, waiting for a fixed pattern');

    const fixed = 'rule Undefined_B {\n  strings:\n    $a = "acme-cfg"\n  condition:\n    $a\n}';
    const eventId = stack.opencti.updateIndicator(created.internalId, { pattern: fixed });
    const after = await stack.applied(created.internalId, eventId);
    assert.equal(after.status, 'active');
    assert.equal(after.lastError, undefined);
    const [ruleset] = stack.rulesetsNamed('Undefined_B');
    assert.equal(ruleset?.rules, fixed);
    assert.equal(ruleset?.match_object_type, 'file');
  });

  test('a URL rule (vt.net.url) becomes a url ruleset: the create carries match_object_type', async () => {
    stack.vt.clearRequests();
    const pattern = 'import "vt"\n\nrule Phishing_Gate {\n  condition:\n    vt.net.url.raw contains "/gate.php"\n}';
    const created = stack.opencti.createIndicator({ name: 'Phishing_Gate', pattern });
    const state = await stack.applied(created.internalId, created.eventId);
    assert.equal(state.status, 'active');
    const [ruleset] = stack.rulesetsNamed('Phishing_Gate');
    assert.equal(ruleset?.match_object_type, 'url');
    assert.equal(ruleset?.rules, pattern, 'sent as written');
    const post = stack.vt.requests().find((r) => r.method === 'POST' && r.path === '/intelligence/hunting_rulesets');
    assert.equal((post?.body as { data: { attributes: Record<string, unknown> } }).data.attributes.match_object_type, 'url');
    assert.deepEqual(state.ruleset?.content.compiled, { matchObjectType: 'url', warnings: [] });
  });

  test('a rule meta vt_match_object_type chooses the type; without it the narrowest that compiles', async () => {
    const ip = 'import "vt"\nrule Bad_Host {\n  condition:\n    vt.net.ip.raw == "203.0.113.7"\n}';
    const marked =
      'import "vt"\nrule Bad_Host_Domains {\n  meta:\n    vt_match_object_type = "domain"\n  condition:\n    vt.net.ip.raw == "203.0.113.7"\n}';
    const a = stack.opencti.createIndicator({ name: 'Bad_Host', pattern: ip });
    const b = stack.opencti.createIndicator({ name: 'Bad_Host_Domains', pattern: marked });
    await stack.applied(a.internalId, a.eventId);
    await stack.applied(b.internalId, b.eventId);
    assert.equal(stack.rulesetsNamed('Bad_Host')[0]?.match_object_type, 'ip_address');
    assert.equal(stack.rulesetsNamed('Bad_Host_Domains')[0]?.match_object_type, 'domain');
  });

  test('a file rule edited into a URL rule is recreated as a url ruleset', async () => {
    const created = stack.opencti.createIndicator({ name: 'Turns_Url', pattern: rule('Turns_Url', 'filesize < 1MB') });
    await stack.applied(created.internalId, created.eventId);
    assert.equal(stack.rulesetsNamed('Turns_Url')[0]?.match_object_type, 'file');
    const urlRule = 'import "vt"\nrule Turns_Url {\n  condition:\n    vt.net.url.raw contains "/login"\n}';
    const eventId = stack.opencti.updateIndicator(created.internalId, { pattern: urlRule });
    const state = await stack.applied(created.internalId, eventId);
    assert.equal(state.status, 'active');
    const rulesets = stack.rulesetsNamed('Turns_Url');
    assert.equal(rulesets.length, 1);
    assert.equal(rulesets[0]?.match_object_type, 'url');
    assert.equal(rulesets[0]?.rules, urlRule);
  });

  test("the compiler's warnings are kept in the state and do not block", async () => {
    const pattern = 'rule Slow_One {\n  strings:\n    $a = /a.*/\n  condition:\n    $a\n}';
    const created = stack.opencti.createIndicator({ name: 'Slow_One', pattern });
    const state = await stack.applied(created.internalId, created.eventId);
    assert.equal(state.status, 'active');
    assert.deepEqual(state.ruleset?.content.compiled?.warnings, [
      'slow_pattern at line 3, column 5: slow pattern (this pattern may slow down the scan)',
    ]);
    assert.match(stack.worker.log(), /the YARA-X compiler warns about the rule/);
  });
});

describe('update mode patch', () => {
  let stack: Stack;
  before(async () => {
    stack = await Stack.start(temporal(), { env: { VIRUSTOTAL_LIVEHUNT_UPDATE_MODE: 'patch' } });
  });
  after(() => stack?.stop());

  test('an edit into a URL rule patches the ruleset in place with its new match_object_type', async () => {
    const created = stack.opencti.createIndicator({ name: 'Patched_Url', pattern: rule('Patched_Url', 'filesize < 1MB') });
    const first = await stack.applied(created.internalId, created.eventId);
    const urlRule = 'import "vt"\nrule Patched_Url {\n  condition:\n    vt.net.url.raw contains "/login"\n}';
    const eventId = stack.opencti.updateIndicator(created.internalId, { pattern: urlRule });
    const state = await stack.applied(created.internalId, eventId);
    assert.equal(state.status, 'active');
    assert.equal(state.ruleset?.id, first.ruleset?.id, 'same ruleset');
    const [ruleset] = stack.rulesetsNamed('Patched_Url');
    assert.equal(ruleset?.match_object_type, 'url');
    assert.equal(ruleset?.rules, urlRule);
  });

  test('an invalid edit costs no request and the previous rule stays', async () => {
    const created = stack.opencti.createIndicator({ name: 'Stays_Valid', pattern: rule('Stays_Valid', 'filesize < 1MB') });
    await stack.applied(created.internalId, created.eventId);
    stack.vt.clearRequests();
    const eventId = stack.opencti.updateIndicator(created.internalId, {
      pattern: 'import "pe"\nrule Stays_Valid { condition: pe.no_such_field == 1 }',
    });
    const state = await stack.applied(created.internalId, eventId);
    assert.equal(state.status, 'invalid-rule');
    assert.match(state.lastError?.message ?? '', /E008 at line 2, column 34: unknown field or method `no_such_field`/);
    assert.deepEqual(stack.vt.requests(), []);
    assert.equal(stack.rulesetsNamed('Stays_Valid')[0]?.rules, rule('Stays_Valid', 'filesize < 1MB'));
  });
});

describe('new files only', () => {
  const MULTI = [
    '/* condition: in a comment must not be touched */',
    'private rule Acme_Helper {',
    '  strings:',
    '    $cfg = "{condition: }"',
    '  condition:',
    '    $cfg',
    '}',
    '',
    'rule Acme_Dropper : loader {',
    '  meta:',
    '    note = "braces } and condition: in text"',
    '  strings:',
    '    $mz = { 4D 5A ?? 00 }',
    '    $re = /acme\\{2\\}[0-9]+/',
    '  condition:',
    '    $mz at 0 and $re or Acme_Helper // either',
    '}',
    '',
    'global rule Acme_Small { condition: filesize < 10MB }',
  ].join('\n');
  const RESTRICTED = [
    'import "vt"',
    '/* condition: in a comment must not be touched */',
    'private rule Acme_Helper {',
    '  strings:',
    '    $cfg = "{condition: }"',
    '  condition:',
    '    $cfg',
    '}',
    '',
    'rule Acme_Dropper : loader {',
    '  meta:',
    '    note = "braces } and condition: in text"',
    '  strings:',
    '    $mz = { 4D 5A ?? 00 }',
    '    $re = /acme\\{2\\}[0-9]+/',
    '  condition: vt.metadata.new_file and (',
    '    $mz at 0 and $re or Acme_Helper) // either',
    '}',
    '',
    'global rule Acme_Small { condition: vt.metadata.new_file and ( filesize < 10MB) }',
  ].join('\n');
  const LEGACY = 'rule Legacy_New {\n  strings:\n    $a = "legacy"\n  condition:\n    $a\n}';

  let stack: Stack;
  let legacyId: string;
  before(async () => {
    stack = await Stack.start(temporal(), {
      // The check runs every VIRUSTOTAL_LIVEHUNT_VERIFY_INTERVAL (at least a minute) or on `reapply`,
      // both the same verification: the tests ask for it with the signal.
      env: { VIRUSTOTAL_LIVEHUNT_NEW_FILES_ONLY: 'true', VIRUSTOTAL_LIVEHUNT_VERIFY_INTERVAL: '1m' },
      // As the Python connector left it: the pattern as written, a file ruleset.
      prepare: ({ vt }) => {
        legacyId = vt.seedRuleset({ owner: 'connector', name: 'Legacy_New', rules: LEGACY }).id;
      },
    });
  });
  after(() => stack?.stop());

  test('every notifying rule of a multi-rule ruleset is restricted; checks compare with what was sent', async () => {
    const created = stack.opencti.createIndicator({ name: 'Acme_Multi', pattern: MULTI });
    const state = await stack.applied(created.internalId, created.eventId);
    assert.equal(state.status, 'active');
    const [ruleset] = stack.rulesetsNamed('Acme_Multi');
    assert.equal(ruleset?.rules, RESTRICTED);
    assert.equal(ruleset?.match_object_type, 'file');
    assert.equal(state.ruleset?.content.rules, MULTI, 'the workflow keeps the pattern as written');

    // Two checks later, nothing was rewritten: the check compares VirusTotal's text with the
    // restricted one, not with the pattern.
    const path = `/intelligence/hunting_rulesets/${ruleset!.id}`;
    const reads = () => stack.vt.requests().filter((r) => r.method === 'GET' && r.path === path).length;
    for (let check = 1; check <= 2; check++) {
      const before = reads();
      await stack.handle(created.internalId).signal(reapplySignal);
      await waitFor(`check ${check} of the ruleset`, () => reads() > before, 30_000);
    }
    assert.deepEqual(
      stack.vt.requests().filter((r) => r.method === 'PATCH' && r.path === path),
      [],
    );

    // Edited by hand back to the unrestricted pattern: put back restricted.
    await fetch(`${stack.vt.url}${path}`, {
      method: 'PATCH',
      headers: HEADERS,
      body: JSON.stringify({ data: { type: 'hunting_ruleset', id: ruleset!.id, attributes: { rules: MULTI } } }),
    });
    await stack.handle(created.internalId).signal(reapplySignal);
    await waitFor('the restricted text to be put back', () => stack.rulesetsNamed('Acme_Multi')[0]?.rules === RESTRICTED, 30_000);
  });

  test('a URL ruleset is sent as written: new files only means nothing there', async () => {
    const pattern = 'import "vt"\nrule Url_Only {\n  condition:\n    vt.net.url.raw contains "/gate.php"\n}';
    const created = stack.opencti.createIndicator({ name: 'Url_Only', pattern });
    await stack.applied(created.internalId, created.eventId);
    const [ruleset] = stack.rulesetsNamed('Url_Only');
    assert.equal(ruleset?.rules, pattern);
    assert.equal(ruleset?.match_object_type, 'url');
  });

  test("the Python connector's ruleset is adopted, then restricted in place", async () => {
    const created = stack.opencti.createIndicator({ name: 'Legacy_New', pattern: LEGACY });
    const state = await stack.applied(created.internalId, created.eventId);
    assert.equal(state.ruleset?.id, legacyId, 'adopted, not duplicated');
    assert.equal(stack.rulesetsNamed('Legacy_New').length, 1);
    assert.equal(
      stack.rulesetsNamed('Legacy_New')[0]?.rules,
      'import "vt"\nrule Legacy_New {\n  strings:\n    $a = "legacy"\n  condition: vt.metadata.new_file and (\n    $a)\n}',
    );
  });
});
