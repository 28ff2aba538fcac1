/**
 * From a pattern to what is sent: the match type (by meta, else the first that compiles), the
 * new-files-only restriction for file rulesets, and refusals with the compiler's message.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createYaraCompiler, type YaraCompiler } from '../../activities/yara-compiler';
import { prepareRules, RuleRefused } from '../../activities/yara-ruleset';

const compiler = createYaraCompiler();
const plain = { newFilesOnly: false };
const newFiles = { newFilesOnly: true };

const FILE_RULE = 'rule F {\n  strings:\n    $a = "acme"\n  condition:\n    $a\n}';
const URL_RULE = 'import "vt"\nrule U { condition: vt.net.url.raw contains "/gate.php" }';
const DOMAIN_RULE = 'import "vt"\nrule D { condition: vt.net.domain.raw endswith ".example" }';
const IP_RULE = 'import "vt"\nrule I { condition: vt.net.ip.raw == "203.0.113.7" }';

function refusedWith(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof RuleRefused && message.test(error.message));
}

describe('preparing rules for VirusTotal', () => {
  test('the match type is the first that compiles: file, then the narrowest network type', () => {
    assert.equal(prepareRules(FILE_RULE, plain, compiler).matchObjectType, 'file');
    assert.equal(prepareRules(URL_RULE, plain, compiler).matchObjectType, 'url');
    assert.equal(prepareRules(DOMAIN_RULE, plain, compiler).matchObjectType, 'domain');
    assert.equal(prepareRules(IP_RULE, plain, compiler).matchObjectType, 'ip_address');
    // vt.net.domain also compiles for url, vt.net.ip for url and domain: the narrowest wins.
    assert.equal(compiler.compile(DOMAIN_RULE, 'url').status, 'compiled');
    assert.equal(compiler.compile(IP_RULE, 'domain').status, 'compiled');
    // Compiles for every type: file.
    assert.equal(prepareRules('rule Any { condition: true }', plain, compiler).matchObjectType, 'file');
  });

  test('a meta vt_match_object_type chooses the type, and the rule must compile for it', () => {
    const marked = 'import "vt"\nrule M {\n  meta:\n    vt_match_object_type = "domain"\n  condition:\n    true\n}';
    assert.equal(prepareRules(marked, plain, compiler).matchObjectType, 'domain');
    const wrong = 'import "vt"\nrule M {\n  meta:\n    vt_match_object_type = "file"\n  condition:\n    vt.net.url.raw contains "x"\n}';
    refusedWith(
      () => prepareRules(wrong, plain, compiler),
      /^YARA-X refuses the rule \(file ruleset, set by vt_match_object_type\): E100 at line 6, column 8: vt\.net is not supported/,
    );
  });

  test('a meta naming no type, or rules disagreeing, is refused naming the meta', () => {
    refusedWith(
      () => prepareRules('rule M { meta: vt_match_object_type = "ip" condition: true }', plain, compiler),
      /vt_match_object_type = "ip" is not a match type \(one of file, url, domain, ip_address\)/,
    );
    const disagree =
      'rule A { meta: vt_match_object_type = "url" condition: true }\nrule B { meta: vt_match_object_type = "domain" condition: true }';
    refusedWith(() => prepareRules(disagree, plain, compiler), /disagree on vt_match_object_type \("url", "domain"\)/);
  });

  test('a rule that compiles for no type is refused with the compiler message', () => {
    refusedWith(
      () => prepareRules('rule B {\n  strings:\n    $a = "x"\n  condition:\n    $b\n}', plain, compiler),
      /^YARA-X refuses the rule \(file ruleset; no match type compiles it\): E025 at line 5, column 5: unknown pattern `\$b` \(this pattern is not declared in the `strings` section\)$/,
    );
  });

  test('a typo in a network rule is reported as the typo, for the type it was meant for', () => {
    refusedWith(
      () => prepareRules('import "vt"\nrule U { condition: vt.net.url.rawx contains "x" }', plain, compiler),
      /^YARA-X refuses the rule \(url ruleset; no match type compiles it\): E008 at line 2, column 32: unknown field or method `rawx`/,
    );
  });

  test('warnings are returned and do not refuse', () => {
    const prepared = prepareRules('rule W { strings: $a = /a.*/ condition: $a }', plain, compiler);
    assert.deepEqual(prepared.warnings, ['slow_pattern at line 1, column 19: slow pattern (this pattern may slow down the scan)']);
    assert.equal(prepared.checked, true);
  });

  test('new files only: file rulesets are restricted and compiled, network rulesets are sent as written', () => {
    const prepared = prepareRules(FILE_RULE, newFiles, compiler);
    assert.equal(prepared.rules, 'import "vt"\nrule F {\n  strings:\n    $a = "acme"\n  condition: vt.metadata.new_file and (\n    $a)\n}');
    assert.equal(prepareRules(URL_RULE, newFiles, compiler).rules, URL_RULE);
    assert.equal(prepareRules(FILE_RULE, plain, compiler).rules, FILE_RULE);
  });

  test('new files only: a restricted rule the compiler refuses is refused, never sent unrestricted', () => {
    // A compiler that accepts the pattern but refuses the restricted text (YARA-X itself would
    // not): the refusal must say so.
    const picky: YaraCompiler = {
      compile: (source) =>
        source.includes('vt.metadata.new_file')
          ? { status: 'refused', errors: [{ code: 'E999', title: 'no', line: 2, column: 1 }], warnings: [] }
          : { status: 'compiled', warnings: [] },
    };
    refusedWith(
      () => prepareRules(FILE_RULE, newFiles, picky),
      /\(file ruleset, once restricted to new files\): E999 at line 2, column 1: no$/,
    );
  });

  test('without the compiler: the meta or file, nothing refused, still restricted when asked', () => {
    const unknown: YaraCompiler = { compile: () => ({ status: 'unknown', reason: 'not here' }) };
    const broken = prepareRules('rule B { strings: $a = "x" condition: $b }', plain, unknown);
    assert.deepEqual(broken, {
      matchObjectType: 'file',
      rules: 'rule B { strings: $a = "x" condition: $b }',
      warnings: [],
      checked: false,
    });
    assert.equal(prepareRules('rule M { meta: vt_match_object_type = "url" condition: true }', plain, unknown).matchObjectType, 'url');
    assert.match(prepareRules(FILE_RULE, newFiles, unknown).rules, /condition: vt\.metadata\.new_file and \(\n {4}\$a\)/);
    // Text the scanner cannot follow cannot be restricted: refused rather than sent unrestricted.
    refusedWith(() => prepareRules('rule T { condition:', newFiles, unknown), /cannot restrict the rules to new files: line 1/);
  });
});
