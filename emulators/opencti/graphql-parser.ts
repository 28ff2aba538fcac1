/**
 * Just enough of a GraphQL parser to execute the handful of operations a stream connector
 * sends: operations with variables and defaults, aliases, arguments (variables or literals),
 * nested selections, inline fragments and named fragments. Directives are parsed and
 * ignored. Anything else is a syntax error, reported the way Apollo does.
 */

export class GraphQLSyntaxError extends Error {}

export type ValueNode =
  | { kind: 'variable'; name: string }
  | { kind: 'literal'; value: unknown }
  | { kind: 'list'; items: ValueNode[] }
  | { kind: 'object'; fields: Record<string, ValueNode> };

export interface FieldNode {
  alias: string | undefined;
  name: string;
  args: Record<string, ValueNode>;
  selections: FieldNode[] | undefined;
}

export interface OperationNode {
  operation: 'query' | 'mutation' | 'subscription';
  name: string | undefined;
  variableDefaults: Record<string, unknown>;
  selections: FieldNode[];
}

type TokenKind = 'punct' | 'name' | 'number' | 'string' | 'eof';
interface Token {
  kind: TokenKind;
  value: string;
}

const PUNCTUATORS = new Set(['!', '$', '&', '(', ')', ':', '=', '@', '[', ']', '{', '|', '}']);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i] ?? '';
    if (/[\s,\uFEFF]/.test(c)) {
      i += 1;
    } else if (c === '#') {
      while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i += 1;
    } else if (source.startsWith('...', i)) {
      tokens.push({ kind: 'punct', value: '...' });
      i += 3;
    } else if (PUNCTUATORS.has(c)) {
      tokens.push({ kind: 'punct', value: c });
      i += 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i));
      tokens.push({ kind: 'name', value: m?.[0] ?? c });
      i += m?.[0].length ?? 1;
    } else if (/[-0-9]/.test(c)) {
      const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(source.slice(i));
      if (!m) throw new GraphQLSyntaxError(`Syntax Error: Invalid number at offset ${i}.`);
      tokens.push({ kind: 'number', value: m[0] });
      i += m[0].length;
    } else if (source.startsWith('"""', i)) {
      const end = source.indexOf('"""', i + 3);
      if (end < 0) throw new GraphQLSyntaxError('Syntax Error: Unterminated string.');
      tokens.push({ kind: 'string', value: source.slice(i + 3, end).replace(/\\"""/g, '"""') });
      i = end + 3;
    } else if (c === '"') {
      let j = i + 1;
      let raw = '';
      while (j < source.length && source[j] !== '"') {
        if (source[j] === '\\') {
          raw += source.slice(j, j + 2);
          j += 2;
        } else {
          raw += source[j];
          j += 1;
        }
      }
      if (j >= source.length) throw new GraphQLSyntaxError('Syntax Error: Unterminated string.');
      try {
        tokens.push({ kind: 'string', value: JSON.parse(`"${raw}"`) as string });
      } catch {
        throw new GraphQLSyntaxError('Syntax Error: Invalid string escape.');
      }
      i = j + 1;
    } else {
      throw new GraphQLSyntaxError(`Syntax Error: Unexpected character: "${c}".`);
    }
  }
  tokens.push({ kind: 'eof', value: '<EOF>' });
  return tokens;
}

interface RawSelection {
  field?: FieldNode & { rawSelections?: RawSelection[] };
  fragmentSpread?: string;
  inline?: RawSelection[];
}

class Parser {
  private index = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.index] ?? { kind: 'eof', value: '<EOF>' };
  }

  private next(): Token {
    const token = this.peek();
    this.index += 1;
    return token;
  }

  private isPunct(value: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.value === value;
  }

  private expectPunct(value: string): void {
    const t = this.next();
    if (t.kind !== 'punct' || t.value !== value) throw new GraphQLSyntaxError(`Syntax Error: Expected "${value}", found ${t.value}.`);
  }

  private expectName(): string {
    const t = this.next();
    if (t.kind !== 'name') throw new GraphQLSyntaxError(`Syntax Error: Expected Name, found ${t.value}.`);
    return t.value;
  }

  parseDocument(): { operations: Array<Omit<OperationNode, 'selections'> & { raw: RawSelection[] }>; fragments: Map<string, RawSelection[]> } {
    const operations: Array<Omit<OperationNode, 'selections'> & { raw: RawSelection[] }> = [];
    const fragments = new Map<string, RawSelection[]>();
    while (this.peek().kind !== 'eof') {
      if (this.isPunct('{')) {
        operations.push({ operation: 'query', name: undefined, variableDefaults: {}, raw: this.parseSelectionSet() });
        continue;
      }
      const keyword = this.expectName();
      if (keyword === 'fragment') {
        const name = this.expectName();
        if (this.expectName() !== 'on') throw new GraphQLSyntaxError('Syntax Error: Expected "on".');
        this.expectName();
        this.skipDirectives();
        fragments.set(name, this.parseSelectionSet());
        continue;
      }
      if (keyword !== 'query' && keyword !== 'mutation' && keyword !== 'subscription') {
        throw new GraphQLSyntaxError(`Syntax Error: Unexpected Name "${keyword}".`);
      }
      const name = this.peek().kind === 'name' ? this.expectName() : undefined;
      const variableDefaults = this.isPunct('(') ? this.parseVariableDefinitions() : {};
      this.skipDirectives();
      operations.push({ operation: keyword, name, variableDefaults, raw: this.parseSelectionSet() });
    }
    return { operations, fragments };
  }

  private parseVariableDefinitions(): Record<string, unknown> {
    const defaults: Record<string, unknown> = {};
    this.expectPunct('(');
    while (!this.isPunct(')')) {
      this.expectPunct('$');
      const name = this.expectName();
      this.expectPunct(':');
      this.skipType();
      if (this.isPunct('=')) {
        this.next();
        defaults[name] = resolveValue(this.parseValue(true), {});
      }
      this.skipDirectives();
    }
    this.expectPunct(')');
    return defaults;
  }

  private skipType(): void {
    if (this.isPunct('[')) {
      this.next();
      this.skipType();
      this.expectPunct(']');
    } else {
      this.expectName();
    }
    if (this.isPunct('!')) this.next();
  }

  private skipDirectives(): void {
    while (this.isPunct('@')) {
      this.next();
      this.expectName();
      if (this.isPunct('(')) this.parseArguments();
    }
  }

  private parseSelectionSet(): RawSelection[] {
    this.expectPunct('{');
    const selections: RawSelection[] = [];
    while (!this.isPunct('}')) {
      if (this.isPunct('...')) {
        this.next();
        if (this.peek().kind === 'name' && this.peek().value !== 'on') {
          selections.push({ fragmentSpread: this.expectName() });
          this.skipDirectives();
        } else {
          if (this.peek().value === 'on') {
            this.next();
            this.expectName();
          }
          this.skipDirectives();
          selections.push({ inline: this.parseSelectionSet() });
        }
        continue;
      }
      let name = this.expectName();
      let alias: string | undefined;
      if (this.isPunct(':')) {
        this.next();
        alias = name;
        name = this.expectName();
      }
      const args = this.isPunct('(') ? this.parseArguments() : {};
      this.skipDirectives();
      const rawSelections = this.isPunct('{') ? this.parseSelectionSet() : undefined;
      selections.push({ field: { alias, name, args, selections: undefined, rawSelections } });
    }
    this.expectPunct('}');
    if (selections.length === 0) throw new GraphQLSyntaxError('Syntax Error: Expected Name, found "}".');
    return selections;
  }

  private parseArguments(): Record<string, ValueNode> {
    const args: Record<string, ValueNode> = {};
    this.expectPunct('(');
    while (!this.isPunct(')')) {
      const name = this.expectName();
      this.expectPunct(':');
      args[name] = this.parseValue(false);
    }
    this.expectPunct(')');
    return args;
  }

  private parseValue(constant: boolean): ValueNode {
    const t = this.next();
    if (t.kind === 'punct' && t.value === '$' && !constant) return { kind: 'variable', name: this.expectName() };
    if (t.kind === 'number') return { kind: 'literal', value: Number(t.value) };
    if (t.kind === 'string') return { kind: 'literal', value: t.value };
    if (t.kind === 'name') {
      if (t.value === 'true') return { kind: 'literal', value: true };
      if (t.value === 'false') return { kind: 'literal', value: false };
      if (t.value === 'null') return { kind: 'literal', value: null };
      return { kind: 'literal', value: t.value }; // enum value
    }
    if (t.kind === 'punct' && t.value === '[') {
      const items: ValueNode[] = [];
      while (!this.isPunct(']')) items.push(this.parseValue(constant));
      this.next();
      return { kind: 'list', items };
    }
    if (t.kind === 'punct' && t.value === '{') {
      const fields: Record<string, ValueNode> = {};
      while (!this.isPunct('}')) {
        const name = this.expectName();
        this.expectPunct(':');
        fields[name] = this.parseValue(constant);
      }
      this.next();
      return { kind: 'object', fields };
    }
    throw new GraphQLSyntaxError(`Syntax Error: Unexpected ${t.value}.`);
  }
}

function expand(raw: RawSelection[], fragments: Map<string, RawSelection[]>, seen: Set<string>): FieldNode[] {
  const fields: FieldNode[] = [];
  for (const selection of raw) {
    if (selection.field) {
      const { rawSelections, ...field } = selection.field;
      fields.push({ ...field, selections: rawSelections ? expand(rawSelections, fragments, seen) : undefined });
    } else if (selection.inline) {
      fields.push(...expand(selection.inline, fragments, seen));
    } else if (selection.fragmentSpread !== undefined) {
      const fragment = fragments.get(selection.fragmentSpread);
      if (!fragment) throw new GraphQLSyntaxError(`Unknown fragment "${selection.fragmentSpread}".`);
      if (seen.has(selection.fragmentSpread)) throw new GraphQLSyntaxError(`Cannot spread fragment "${selection.fragmentSpread}" within itself.`);
      fields.push(...expand(fragment, fragments, new Set([...seen, selection.fragmentSpread])));
    }
  }
  return fields;
}

/** Parses `source` and returns the operation to execute (by name when several are defined). */
export function parseOperation(source: string, operationName?: string | null): OperationNode {
  const { operations, fragments } = new Parser(tokenize(source)).parseDocument();
  const candidates = operationName ? operations.filter((o) => o.name === operationName) : operations;
  if (candidates.length === 0) {
    throw new GraphQLSyntaxError(operationName ? `Unknown operation named "${operationName}".` : 'Must provide an operation.');
  }
  if (candidates.length > 1) throw new GraphQLSyntaxError('Must provide operation name if query contains multiple operations.');
  const [chosen] = candidates;
  if (!chosen) throw new GraphQLSyntaxError('Must provide an operation.');
  const { raw, ...rest } = chosen;
  return { ...rest, selections: expand(raw, fragments, new Set()) };
}

/** Literal value of an argument, substituting variables (missing variables are undefined). */
export function resolveValue(node: ValueNode, variables: Record<string, unknown>): unknown {
  switch (node.kind) {
    case 'variable':
      return variables[node.name];
    case 'literal':
      return node.value;
    case 'list':
      return node.items.map((item) => resolveValue(item, variables));
    case 'object':
      return Object.fromEntries(Object.entries(node.fields).map(([k, v]) => [k, resolveValue(v, variables)]));
  }
}
