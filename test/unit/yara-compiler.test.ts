/**
 * The YARA-X compiler module, with the real native binding: what it refuses and accepts for each
 * match type, how its reports become one line, and what happens when the binding cannot load.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createYaraCompiler, describeDiagnostic, parseDiagnostic, type CompileVerdict } from '../../activities/yara-compiler';

const compiler = createYaraCompiler({ onUnavailable: (reason) => assert.fail(`YARA-X must load here: ${reason}`) });

function refused(verdict: CompileVerdict) {
  assert.equal(verdict.status, 'refused', JSON.stringify(verdict));
  return (verdict as Extract<CompileVerdict, { status: 'refused' }>).errors;
}

describe('YARA-X compiler', () => {
  test('an undefined pattern is refused with code, line, column, title and label', () => {
    const [error, ...others] = refused(compiler.compile('rule r {\n  strings:\n    $a = "x"\n  condition:\n    $b\n}', 'file'));
    assert.equal(others.length, 0);
    assert.deepEqual(error, {
      code: 'E025',
      title: 'unknown pattern `$b`',
      line: 5,
      column: 5,
      label: 'this pattern is not declared in the `strings` section',
    });
    assert.equal(
      describeDiagnostic(error!),
      'E025 at line 5, column 5: unknown pattern `$b` (this pattern is not declared in the `strings` section)',
    );
  });

  test('the vt module follows the match type: metadata for files, net.url for URLs', () => {
    const newFile = 'import "vt"\nrule r { condition: vt.metadata.new_file }';
    const url = 'import "vt"\nrule r { condition: vt.net.url.raw contains "evil" }';
    const domain = 'import "vt"\nrule r { condition: vt.net.domain.raw endswith ".example" }';
    const ip = 'import "vt"\nrule r { condition: vt.net.ip.raw == "203.0.113.7" }';
    assert.equal(compiler.compile(newFile, 'file').status, 'compiled');
    for (const type of ['url', 'domain', 'ip_address'] as const) assert.equal(refused(compiler.compile(newFile, type))[0]?.code, 'E100');
    assert.equal(compiler.compile(url, 'url').status, 'compiled');
    for (const type of ['file', 'domain', 'ip_address'] as const) assert.equal(refused(compiler.compile(url, type))[0]?.code, 'E100');
    assert.equal(compiler.compile(domain, 'domain').status, 'compiled');
    assert.equal(compiler.compile(ip, 'ip_address').status, 'compiled');
    assert.equal(refused(compiler.compile(ip, 'file'))[0]?.code, 'E100');
  });

  test("VirusTotal's legacy variables compile in file rulesets only, with their types", () => {
    const legacy = 'rule r { condition: new_file and positives > 3 and file_type contains "pe" }';
    assert.equal(compiler.compile(legacy, 'file').status, 'compiled');
    assert.equal(refused(compiler.compile(legacy, 'url'))[0]?.code, 'E009');
    assert.equal(refused(compiler.compile('rule r { condition: positives contains "x" }', 'file'))[0]?.code, 'E002');
  });

  test('warnings do not refuse: they come back with the verdict', () => {
    const verdict = compiler.compile('rule r { strings: $a = /a.*/ condition: $a }', 'file');
    assert.equal(verdict.status, 'compiled');
    assert.deepEqual(verdict.status === 'compiled' && verdict.warnings.map((w) => [w.code, w.line, w.column]), [['slow_pattern', 1, 19]]);
  });

  test('a report with several spans keeps the primary label and the note', () => {
    const report = [
      'error[E019]: invalid modifier combination: `xor` `nocase`',
      ' --> line:1:30',
      '  |',
      '1 | rule r { strings: $a = "abc" xor nocase condition: $a }',
      '  |                              ^^^ ^^^^^^ `nocase` modifier used here',
      '  |                              |',
      '  |                              `xor` modifier used here',
      '  |',
      "  = note: these two modifiers can't be used together",
    ].join('\n');
    assert.deepEqual(parseDiagnostic('E019', report), {
      code: 'E019',
      title: 'invalid modifier combination: `xor` `nocase`',
      line: 1,
      column: 30,
      label: "`nocase` modifier used here; note: these two modifiers can't be used together",
    });
  });

  test('a source line with carets or dashes is not mistaken for the label', () => {
    const report = [
      'error[E009]: unknown identifier `x`',
      ' --> line:1:21',
      '  |',
      '1 | rule r { condition: x ^ 1 - 2 }',
      '  |                     ^ this identifier has not been declared',
    ].join('\n');
    assert.equal(parseDiagnostic('E009', report).label, 'this identifier has not been declared');
  });

  test('a binding that throws on a text answers unknown for that text, not an exception', () => {
    const throwing = createYaraCompiler({
      load: () => ({
        validate: () => {
          throw new Error('internal error\nbacktrace');
        },
      }),
    });
    assert.deepEqual(throwing.compile('rule r { condition: true }', 'file'), {
      status: 'unknown',
      reason: 'YARA-X failed on this text: internal error',
    });
  });

  test('a binding that cannot load answers unknown, and says so once', () => {
    const told: string[] = [];
    let loads = 0;
    const broken = createYaraCompiler({
      onUnavailable: (reason) => told.push(reason),
      load: () => {
        loads++;
        throw new Error('Cannot find native binding. npm has a bug related to optional dependencies\nmore lines');
      },
    });
    const first = broken.compile('rule r { condition: $b }', 'file');
    const second = broken.compile('rule r { condition: true }', 'url');
    assert.equal(first.status, 'unknown');
    assert.equal(second.status, 'unknown');
    assert.equal(loads, 1, 'loaded once');
    assert.equal(told.length, 1, 'said once');
    assert.match(told[0]!, /@litko\/yara-x.*cannot be loaded.*Cannot find native binding/);
    assert.doesNotMatch(told[0]!, /more lines/);
  });
});
