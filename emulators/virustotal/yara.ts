// How the emulator judges a ruleset's text as VirusTotal does: VirusTotal compiles every ruleset
// with YARA-X, for the ruleset's match type, and answers 400 with the compiler's message. The
// emulator runs the same compiler (the `@litko/yara-x` binding). Where that native module cannot
// load, it falls back to a small plausibility checker that catches the mistakes automation
// realistically makes (truncated text, missing condition, unbalanced braces, include, module
// used without import). The checker also yields the rule names VT computes into `rule_names` /
// `number_of_rules`.

import { createYaraCompiler, describeDiagnostic, type MatchObjectType } from '../../activities/yara-compiler';
import { scanYara } from '../../activities/yara-source';

export type YaraCheck = { ok: true; ruleNames: string[] } | { ok: false; line: number; message: string };

type TokenKind = 'ident' | 'string' | 'regex' | 'number' | 'var' | 'punct' | 'eof';

interface Token {
  kind: TokenKind;
  text: string;
  line: number;
}

class CompileError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

// Modules a condition may reference with `module.field`; using one without `import` is a
// compile error in YARA (`vt` is VirusTotal's Livehunt module).
const MODULES = new Set(['pe', 'elf', 'math', 'hash', 'dotnet', 'magic', 'cuckoo', 'lnk', 'macho', 'string', 'time', 'console', 'vt']);

// Keywords that cannot name a rule.
const RESERVED = new Set([
  'all',
  'and',
  'any',
  'ascii',
  'at',
  'base64',
  'base64wide',
  'condition',
  'contains',
  'endswith',
  'entrypoint',
  'false',
  'filesize',
  'for',
  'fullword',
  'global',
  'import',
  'icontains',
  'iendswith',
  'iequals',
  'in',
  'include',
  'istartswith',
  'matches',
  'meta',
  'nocase',
  'none',
  'not',
  'of',
  'or',
  'private',
  'rule',
  'startswith',
  'strings',
  'them',
  'true',
  'wide',
  'xor',
]);

const IDENT_START = /[A-Za-z_]/;
const IDENT_CHAR = /[A-Za-z0-9_]/;
const NUMBER = /^(0x[0-9a-fA-F]+|0o[0-7]+|[0-9]+(\.[0-9]+)?)(KB|MB)?/;

function scan(text: string): Token[] {
  const tokens: Token[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  const last = (): Token | undefined => tokens[tokens.length - 1];

  while (i < n) {
    const c = text[i] as string;
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new CompileError(line, 'syntax error, unexpected end of file in comment');
      for (let k = i; k < end; k++) if (text[k] === '\n') line++;
      i = end + 2;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') {
        if (text[j] === '\n') throw new CompileError(line, 'unterminated string');
        j += text[j] === '\\' ? 2 : 1;
      }
      if (j >= n) throw new CompileError(line, 'unterminated string');
      tokens.push({ kind: 'string', text: text.slice(i, j + 1), line });
      i = j + 1;
      continue;
    }
    // A slash starts a regular expression only where an operand is expected: after `=` in the
    // strings section or after `matches` in a condition. Elsewhere it is a division.
    const prev = last();
    if (c === '/' && prev && ((prev.kind === 'punct' && prev.text === '=') || (prev.kind === 'ident' && prev.text === 'matches'))) {
      let j = i + 1;
      let inClass = false;
      for (;;) {
        if (j >= n || text[j] === '\n') throw new CompileError(line, 'unterminated regular expression');
        const ch = text[j];
        if (ch === '\\') {
          j += 2;
          continue;
        }
        if (inClass) {
          if (ch === ']') inClass = false;
        } else if (ch === '[') {
          inClass = true;
        } else if (ch === '/') {
          break;
        }
        j++;
      }
      j++;
      while (j < n && /[is]/.test(text[j] as string)) j++;
      tokens.push({ kind: 'regex', text: text.slice(i, j), line });
      i = j;
      continue;
    }
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < n && IDENT_CHAR.test(text[j] as string)) j++;
      tokens.push({ kind: 'ident', text: text.slice(i, j), line });
      i = j;
      continue;
    }
    // String identifiers and their count/offset/length forms: $a, $a*, $, #a, @a, !a.
    if (c === '$' || c === '#' || c === '@' || (c === '!' && IDENT_START.test(text[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < n && IDENT_CHAR.test(text[j] as string)) j++;
      if (text[j] === '*') j++;
      tokens.push({ kind: 'var', text: text.slice(i, j), line });
      i = j;
      continue;
    }
    const num = NUMBER.exec(text.slice(i, i + 64));
    if (num) {
      tokens.push({ kind: 'number', text: num[0], line });
      i += num[0].length;
      continue;
    }
    tokens.push({ kind: 'punct', text: c, line });
    i++;
  }
  tokens.push({ kind: 'eof', text: '', line });
  return tokens;
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of file';
    case 'ident':
      return RESERVED.has(t.text) ? `<${t.text}>` : `identifier "${t.text}"`;
    case 'string':
      return 'text string';
    case 'regex':
      return 'regular expression';
    case 'number':
      return 'integer number';
    case 'var':
      return `string identifier "${t.text}"`;
    default:
      return `'${t.text}'`;
  }
}

const syntaxError = (t: Token, expecting?: string): CompileError =>
  new CompileError(t.line, `syntax error, unexpected ${describe(t)}${expecting ? `, expecting ${expecting}` : ''}`);

function parse(tokens: Token[]): string[] {
  let pos = 0;
  const peek = (offset = 0): Token => tokens[Math.min(pos + offset, tokens.length - 1)] as Token;
  const next = (): Token => {
    const t = peek();
    if (pos < tokens.length - 1) pos++;
    return t;
  };
  const isIdent = (t: Token, text: string): boolean => t.kind === 'ident' && t.text === text;
  const isPunct = (t: Token, text: string): boolean => t.kind === 'punct' && t.text === text;

  const imports = new Set<string>();
  const names: string[] = [];
  const seen = new Set<string>();

  const parseRule = (): void => {
    next(); // `rule`
    const nameTok = next();
    if (nameTok.kind !== 'ident' || RESERVED.has(nameTok.text)) throw syntaxError(nameTok, 'identifier');
    if (seen.has(nameTok.text)) throw new CompileError(nameTok.line, `duplicated identifier "${nameTok.text}"`);
    if (isPunct(peek(), ':')) {
      next();
      if (peek().kind !== 'ident') throw syntaxError(peek(), 'identifier');
      while (peek().kind === 'ident') next();
    }
    const open = next();
    if (!isPunct(open, '{')) throw syntaxError(open, "'{'");

    let depth = 1;
    let hasCondition = false;
    let conditionTokens = 0;
    for (;;) {
      const t = next();
      if (t.kind === 'eof') throw syntaxError(t);
      if (isPunct(t, '{')) depth++;
      if (isPunct(t, '}')) {
        depth--;
        if (depth === 0) {
          if (!hasCondition) throw syntaxError(t, '<condition>');
          if (conditionTokens === 0) throw syntaxError(t);
          break;
        }
      }
      if (depth === 1 && isIdent(t, 'condition') && isPunct(peek(), ':')) {
        next();
        hasCondition = true;
        continue;
      }
      if (!hasCondition) continue;
      conditionTokens++;
      const before = tokens[pos - 2];
      const qualified = before !== undefined && isPunct(before, '.');
      if (t.kind === 'ident' && !qualified && MODULES.has(t.text) && isPunct(peek(), '.') && !imports.has(t.text)) {
        throw new CompileError(t.line, `undefined identifier "${t.text}"`);
      }
    }
    seen.add(nameTok.text);
    names.push(nameTok.text);
  };

  for (;;) {
    const t = peek();
    if (t.kind === 'eof') break;
    if (isIdent(t, 'include')) throw new CompileError(t.line, 'includes are disabled');
    if (isIdent(t, 'import')) {
      next();
      const mod = next();
      if (mod.kind !== 'string') throw syntaxError(mod, 'text string');
      imports.add(mod.text.slice(1, -1));
      continue;
    }
    if (isIdent(t, 'private') || isIdent(t, 'global')) {
      next();
      const after = peek();
      if (!(isIdent(after, 'rule') || isIdent(after, 'private') || isIdent(after, 'global'))) {
        throw syntaxError(after, '<rule>');
      }
      continue;
    }
    if (isIdent(t, 'rule')) {
      parseRule();
      continue;
    }
    throw syntaxError(t);
  }
  if (names.length === 0) throw syntaxError(peek(), '<rule>');
  return names;
}

/** Compile-like check of a ruleset's text; on success, the names of its rules in order. */
export function checkYara(text: string): YaraCheck {
  try {
    return { ok: true, ruleNames: parse(scan(text)) };
  } catch (err) {
    if (err instanceof CompileError) return { ok: false, line: err.line, message: `line ${err.line}: ${err.message}` };
    throw err;
  }
}

// Seeded rulesets are not validated (they stand for whatever a human once saved), so their
// names come from a forgiving header match instead of the checker.
const RULE_HEADER = /(?:^|[^\w$#@!.])(?:(?:private|global)\s+)*rule\s+([A-Za-z_]\w*)\s*(?::[^{]*)?\{/g;

/** Rule names for `rule_names` / `number_of_rules`; tolerant of text the checker rejects. */
export function ruleNames(text: string): string[] {
  // The connector's scanner reads YARA as YARA-X lexes it (a slash always opens a regex).
  try {
    return scanYara(text).rules.map((rule) => rule.name);
  } catch {
    // not YARA it can follow: the forgiving paths below
  }
  const checked = checkYara(text);
  if (checked.ok) return checked.ruleNames;
  const withoutComments = text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
  return Array.from(withoutComments.matchAll(RULE_HEADER), (m) => m[1] as string);
}

/** Line (1-based) of a character offset, for messages about a pattern match. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

// One compiler for the process; if it cannot load, the emulator says so once on stderr.
const compiler = createYaraCompiler({
  onUnavailable: (reason) => process.stderr.write(`virustotal emulator: ${reason}; falling back to a plausibility check of YARA text\n`),
});

/** VirusTotal's docs spell the IP type `ip`, third-party schemas `ip_address`; YARA-X knows the latter. */
function compilerType(matchObjectType: string): MatchObjectType {
  return matchObjectType === 'ip' ? 'ip_address' : (matchObjectType as MatchObjectType);
}

/** What VirusTotal's compiler says of a ruleset of this match type; the message names every error. */
export function compileForVirusTotal(text: string, matchObjectType: string): { ok: true } | { ok: false; message: string } {
  const verdict = compiler.compile(text, compilerType(matchObjectType));
  if (verdict.status === 'unknown') {
    const checked = checkYara(text);
    return checked.ok ? { ok: true } : { ok: false, message: checked.message };
  }
  if (verdict.status === 'refused') return { ok: false, message: verdict.errors.map(describeDiagnostic).join('; ') };
  // YARA-X accepts a text without any rule; a ruleset of nothing is refused like a truncated one.
  if (ruleNames(text).length === 0) return { ok: false, message: 'the ruleset contains no rule' };
  return { ok: true };
}
