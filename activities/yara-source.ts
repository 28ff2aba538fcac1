/**
 * A small YARA scanner that finds what the connector edits or reads in a ruleset's text: the
 * imports, each rule's modifiers, its `meta` entries and where its condition starts and ends.
 *
 * It is not a compiler (YARA-X is): it only has to tell code from text. Quoted strings, regular
 * expressions, hex strings and comments are single tokens, so a `condition:`, a brace or a quote
 * inside them never confuses it. Offsets are UTF-16 indexes into the text, for splicing.
 */

export interface MetaEntry {
  key: string;
  value: string | number | boolean;
}

export interface RuleSpan {
  name: string;
  modifiers: Array<'private' | 'global'>;
  meta: MetaEntry[];
  /** Offset just after `condition:`. */
  conditionStart: number;
  /** Offset just after the condition's last token (trailing blanks and comments excluded). */
  conditionEnd: number;
}

export interface YaraSource {
  imports: string[];
  rules: RuleSpan[];
}

export class YaraSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'YaraSyntaxError';
  }
}

type TokenKind = 'ident' | 'text' | 'regex' | 'hex' | 'number' | 'var' | 'punct' | 'eof';

interface Token {
  kind: TokenKind;
  /** Source text of the token; for `text`, the unescaped value. */
  value: string;
  start: number;
  end: number;
  line: number;
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_CHAR = /[A-Za-z0-9_]/;
const NUMBER = /^(?:0x[0-9a-fA-F]+|0o[0-7]+|[0-9]+(?:\.[0-9]+)?)(?:KB|MB)?/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  const fail = (message: string): never => {
    throw new YaraSyntaxError(line, message);
  };
  const push = (kind: TokenKind, start: number, end: number, value = text.slice(start, end)) =>
    tokens.push({ kind, value, start, end, line });

  /** Skips a comment at i, if any; true when one was skipped. */
  const skipComment = (): boolean => {
    if (text[i] !== '/') return false;
    if (text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') i++;
      return true;
    }
    if (text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) fail('unterminated comment');
      for (let k = i; k < end; k++) if (text[k] === '\n') line++;
      i = end + 2;
      return true;
    }
    return false;
  };

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
    if (skipComment()) continue;
    const prev = tokens[tokens.length - 1];
    // After `=` (a pattern definition), a brace opens a hex string; elsewhere it is a block.
    const afterEquals = prev !== undefined && prev.kind === 'punct' && prev.value === '=';
    if (c === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= n || text[j] === '\n') fail('unterminated string');
        const ch = text[j] as string;
        if (ch === '"') break;
        if (ch === '\\') {
          value += text.slice(j, j + 2);
          j += 2;
          continue;
        }
        value += ch;
        j++;
      }
      push('text', i, j + 1, value);
      i = j + 1;
      continue;
    }
    // A slash that does not open a comment opens a regular expression: YARA divides with `\`.
    if (c === '/') {
      let j = i + 1;
      let inClass = false;
      for (;;) {
        if (j >= n || text[j] === '\n') fail('unterminated regular expression');
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
      push('regex', i, j);
      i = j;
      continue;
    }
    if (c === '{' && afterEquals) {
      const start = i;
      const startLine = line;
      i++;
      // Hex strings hold bytes, jumps, alternatives and comments, never a brace.
      while (i < n && text[i] !== '}') {
        if (skipComment()) continue;
        if (text[i] === '\n') line++;
        i++;
      }
      if (i >= n) throw new YaraSyntaxError(startLine, 'unterminated hex string');
      i++;
      tokens.push({ kind: 'hex', value: text.slice(start, i), start, end: i, line: startLine });
      continue;
    }
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < n && IDENT_CHAR.test(text[j] as string)) j++;
      push('ident', i, j);
      i = j;
      continue;
    }
    // Pattern identifiers and their count, offset and length forms: $a, $a*, $, #a, @a, !a.
    if (c === '$' || c === '#' || c === '@' || (c === '!' && IDENT_START.test(text[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < n && IDENT_CHAR.test(text[j] as string)) j++;
      if (text[j] === '*') j++;
      push('var', i, j);
      i = j;
      continue;
    }
    const num = NUMBER.exec(text.slice(i, i + 64));
    if (num) {
      push('number', i, i + num[0].length);
      i += num[0].length;
      continue;
    }
    push('punct', i, i + 1);
    i++;
  }
  tokens.push({ kind: 'eof', value: '', start: n, end: n, line });
  return tokens;
}

const describe = (t: Token): string => (t.kind === 'eof' ? 'end of text' : t.kind === 'text' ? 'a quoted string' : `"${t.value}"`);

/** Finds the imports and the rules of a ruleset; throws YaraSyntaxError on text it cannot follow. */
export function scanYara(text: string): YaraSource {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (offset = 0): Token => tokens[Math.min(pos + offset, tokens.length - 1)] as Token;
  const next = (): Token => {
    const t = peek();
    if (pos < tokens.length - 1) pos++;
    return t;
  };
  const is = (t: Token, kind: TokenKind, value?: string) => t.kind === kind && (value === undefined || t.value === value);
  const expect = (kind: TokenKind, value: string | undefined, what: string): Token => {
    const t = next();
    if (!is(t, kind, value)) throw new YaraSyntaxError(t.line, `expected ${what}, found ${describe(t)}`);
    return t;
  };
  const sectionStart = (name: string) => is(peek(), 'ident', name) && is(peek(1), 'punct', ':');

  const imports: string[] = [];
  const rules: RuleSpan[] = [];
  const modifiers: RuleSpan['modifiers'] = [];

  const readMeta = (): MetaEntry[] => {
    const meta: MetaEntry[] = [];
    while (is(peek(), 'ident') && is(peek(1), 'punct', '=')) {
      const key = next().value;
      next();
      const negative = is(peek(), 'punct', '-') ? (next(), true) : false;
      const value = next();
      if (value.kind === 'text') meta.push({ key, value: value.value });
      else if (value.kind === 'number') meta.push({ key, value: (negative ? -1 : 1) * Number(value.value) });
      else if (is(value, 'ident', 'true') || is(value, 'ident', 'false')) meta.push({ key, value: value.value === 'true' });
      else throw new YaraSyntaxError(value.line, `expected a value for meta "${key}", found ${describe(value)}`);
    }
    return meta;
  };

  const readRule = (): void => {
    const name = expect('ident', undefined, 'a rule name');
    if (is(peek(), 'punct', ':')) {
      next();
      while (is(peek(), 'ident')) next();
    }
    expect('punct', '{', '"{"');
    let meta: MetaEntry[] = [];
    let condition: { start: number; end: number } | undefined;
    for (;;) {
      if (sectionStart('meta')) {
        pos += 2;
        meta = readMeta();
      } else if (sectionStart('strings')) {
        pos += 2;
        // Definitions and their modifiers are whole tokens; the next section ends them.
        while (!sectionStart('condition') && !is(peek(), 'punct', '}') && !is(peek(), 'eof')) next();
      } else if (sectionStart('condition')) {
        next();
        const colon = next();
        let last: Token | undefined;
        // A condition holds no braces: the first one closes the rule.
        while (!is(peek(), 'punct', '}') && !is(peek(), 'eof')) last = next();
        if (!last) throw new YaraSyntaxError(peek().line, `rule "${name.value}" has an empty condition`);
        condition = { start: colon.end, end: last.end };
      } else if (is(peek(), 'punct', '}')) {
        next();
        break;
      } else {
        const t = peek();
        throw new YaraSyntaxError(
          t.line,
          `expected a section (meta, strings, condition) or "}" in rule "${name.value}", found ${describe(t)}`,
        );
      }
    }
    if (!condition) throw new YaraSyntaxError(name.line, `rule "${name.value}" has no condition`);
    rules.push({ name: name.value, modifiers: modifiers.splice(0), meta, conditionStart: condition.start, conditionEnd: condition.end });
  };

  for (;;) {
    const t = next();
    if (t.kind === 'eof') break;
    if (is(t, 'ident', 'import') || is(t, 'ident', 'include')) {
      const target = expect('text', undefined, `a quoted name after ${t.value}`);
      if (t.value === 'import') imports.push(target.value);
    } else if (is(t, 'ident', 'private') || is(t, 'ident', 'global')) {
      modifiers.push(t.value as 'private' | 'global');
      if (!is(peek(), 'ident', 'rule') && !is(peek(), 'ident', 'private') && !is(peek(), 'ident', 'global')) {
        throw new YaraSyntaxError(peek().line, `expected "rule" after ${t.value}, found ${describe(peek())}`);
      }
    } else if (is(t, 'ident', 'rule')) {
      readRule();
    } else {
      throw new YaraSyntaxError(t.line, `expected import or rule, found ${describe(t)}`);
    }
  }
  return { imports, rules };
}
