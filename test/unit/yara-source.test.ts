/**
 * The scanner that finds rules' conditions and meta, and the new-files-only restriction built on
 * it: text inside strings, comments, regexes and hex strings must never be taken for code, and
 * every restricted ruleset must still compile (checked with YARA-X).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createYaraCompiler } from '../../activities/yara-compiler';
import { restrictToNewFiles } from '../../activities/yara-ruleset';
import { scanYara, YaraSyntaxError } from '../../activities/yara-source';

const compiler = createYaraCompiler();

/** The restricted text, after checking it compiles as a file ruleset. */
function restricted(text: string): string {
  const out = restrictToNewFiles(text, scanYara(text));
  const verdict = compiler.compile(out, 'file');
  assert.equal(verdict.status, 'compiled', `${out}\n${JSON.stringify(verdict)}`);
  return out;
}

const conditionOf = (text: string, index = 0) => {
  const rule = scanYara(text).rules[index]!;
  return text.slice(rule.conditionStart, rule.conditionEnd);
};

describe('YARA scanner', () => {
  test('finds imports, modifiers, tags, meta and each condition', () => {
    const text = [
      'import "pe"',
      'import "math"',
      'private rule Helper : tag1 tag2 {',
      '  meta:',
      '    author = "someone"',
      '    score = -5',
      '    active = true',
      '  condition:',
      '    pe.is_pe',
      '}',
      'global private rule Gate { condition: filesize < 10MB }',
      'rule Main { condition: Helper and Gate }',
    ].join('\n');
    const source = scanYara(text);
    assert.deepEqual(source.imports, ['pe', 'math']);
    assert.deepEqual(
      source.rules.map((r) => [r.name, r.modifiers]),
      [
        ['Helper', ['private']],
        ['Gate', ['global', 'private']],
        ['Main', []],
      ],
    );
    assert.deepEqual(source.rules[0]?.meta, [
      { key: 'author', value: 'someone' },
      { key: 'score', value: -5 },
      { key: 'active', value: true },
    ]);
    assert.equal(conditionOf(text, 0), '\n    pe.is_pe');
    assert.equal(conditionOf(text, 1), ' filesize < 10MB');
    assert.equal(conditionOf(text, 2), ' Helper and Gate');
  });

  test('"condition:", braces, quotes and slashes inside strings, comments, regexes and hex strings are text', () => {
    const text = [
      '/* rule Fake { condition: true } */',
      'rule Tricky {',
      '  meta:',
      '    note = "condition: } { \\" still text"',
      '  strings:',
      '    $s = "{ not a brace } condition:"',
      '    $r = /a\\{2\\}\\/[}"]condition:/ nocase',
      '    $h = { 4D 5A /* } condition: */ ?? [2-4] ( 00 | 01 ) // }',
      '          90 }',
      '  condition:',
      '    // condition: not this one }',
      '    $s or $r or $h // trailing } comment',
      '}',
    ].join('\n');
    assert.equal(compiler.compile(text, 'file').status, 'compiled', 'YARA-X reads it as valid YARA too');
    const source = scanYara(text);
    assert.equal(source.rules.length, 1);
    assert.equal(conditionOf(text), '\n    // condition: not this one }\n    $s or $r or $h');
    restricted(text);
  });

  test('a slash opens a regex in a condition too (YARA divides with a backslash)', () => {
    const text = 'rule M { strings: $a = "x" condition: $a and filesize \\ 2 > 1 and "a}b" matches /}\\/\\)/ }';
    assert.equal(compiler.compile(text, 'file').status, 'compiled', 'YARA-X reads it as valid YARA too');
    assert.equal(conditionOf(text), ' $a and filesize \\ 2 > 1 and "a}b" matches /}\\/\\)/');
    restricted(text);
  });

  test('text it cannot follow is a syntax error naming the line', () => {
    const bad: Array<[string, RegExp]> = [
      ['rule A { condition: true', /^line 1: .*"}"|end of text/],
      ['rule A {\n  strings:\n    $a = "open\n  condition: $a\n}', /^line 3: unterminated string/],
      ['rule A { condition: }', /empty condition/],
      ['rule A { strings: $a = "x" }', /no condition/],
      ['/* never closed', /unterminated comment/],
      ['rule A { strings: $h = { 4D 5A condition: $h', /unterminated hex string/],
      ['private import "pe"', /expected "rule" after private/],
      ['something else', /expected import or rule/],
    ];
    for (const [text, message] of bad) {
      assert.throws(
        () => scanYara(text),
        (error: unknown) => error instanceof YaraSyntaxError && message.test(error.message),
        text,
      );
    }
  });
});

describe('new files only', () => {
  test('one rule: the whole condition is parenthesised behind vt.metadata.new_file, import "vt" added', () => {
    const text = 'rule A {\n  strings:\n    $a = "x"\n    $b = "y"\n  condition:\n    $a or $b\n}';
    assert.equal(
      restricted(text),
      'import "vt"\nrule A {\n  strings:\n    $a = "x"\n    $b = "y"\n  condition: vt.metadata.new_file and (\n    $a or $b)\n}',
    );
  });

  test('every rule of a multi-rule ruleset, private ones left as written; import "vt" kept once', () => {
    const text = [
      'import "pe"',
      'import "vt"',
      'private rule Helper { strings: $p = "cond" condition: $p }',
      'global rule Small { condition: filesize < 10MB }',
      'rule One : apt { strings: $a = "{condition: }" condition: $a or Helper }',
      'rule Two { condition: pe.is_pe or Helper }',
    ].join('\n');
    const out = restricted(text);
    assert.equal(out.match(/import "vt"/g)?.length, 1);
    assert.equal(
      out,
      [
        'import "pe"',
        'import "vt"',
        'private rule Helper { strings: $p = "cond" condition: $p }',
        'global rule Small { condition: vt.metadata.new_file and ( filesize < 10MB) }',
        'rule One : apt { strings: $a = "{condition: }" condition: vt.metadata.new_file and ( $a or Helper) }',
        'rule Two { condition: vt.metadata.new_file and ( pe.is_pe or Helper) }',
      ].join('\n'),
    );
  });

  test('a trailing line comment stays a comment: the parenthesis closes before it', () => {
    const text = 'rule C {\n  condition:\n    filesize > 0 // size } matters\n}';
    assert.equal(
      restricted(text),
      'import "vt"\nrule C {\n  condition: vt.metadata.new_file and (\n    filesize > 0) // size } matters\n}',
    );
  });

  test('a condition already mentioning new files is still wrapped, and compiles', () => {
    restricted('import "vt"\nrule D { condition: vt.metadata.new_file or filesize < 1KB }');
  });
});
