// Request body validation with VirusTotal-like 400 answers: BadRequestError for a malformed
// request (wrong envelope, missing required attribute), InvalidArgumentError for a value VT
// would refuse (bad type, bad e-mail, rules that do not compile, oversize ruleset).

import { z } from 'zod';
import { badRequest, invalidArgument } from './errors';
import type { RulesetAttributes } from './store';
import type { EditorDescriptor } from './types';
import { compileForVirusTotal, lineOf } from './yara';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const nonBlank = (s: string): boolean => s.trim().length > 0;

// `ip` is what VT's docs say, `ip_address` what third-party schemas say; which one VT accepts
// is unconfirmed, so both are accepted and stored as sent.
export const MATCH_OBJECT_TYPES = ['file', 'url', 'domain', 'ip', 'ip_address'] as const;

const attributeSchemas: { [K in keyof RulesetAttributes]: z.ZodType<RulesetAttributes[K]> } = {
  name: z.string().refine(nonBlank, 'must not be empty'),
  rules: z.string().refine(nonBlank, 'must not be empty'),
  enabled: z.boolean(),
  limit: z.number().int().min(1),
  notification_emails: z.array(z.string().regex(EMAIL, 'not an e-mail address')),
  match_object_type: z.enum(MATCH_OBJECT_TYPES),
  tags: z.array(z.string().refine(nonBlank, 'must not be empty')),
};

const RULESET_TYPE = 'hunting_ruleset';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function dataOf(body: unknown): unknown {
  if (!isObject(body)) throw badRequest('Expected a JSON object in the request body');
  if (!('data' in body)) throw badRequest('Missing "data" in the request body');
  return body.data;
}

/** The `data` object of a create/PATCH body, checked to be a hunting_ruleset. */
function rulesetData(body: unknown): Record<string, unknown> {
  const data = dataOf(body);
  if (!isObject(data)) throw badRequest('"data" must be an object');
  if (data.type === undefined) throw badRequest(`Missing object type, expected "${RULESET_TYPE}"`);
  if (data.type !== RULESET_TYPE) throw badRequest(`Invalid object type "${String(data.type)}", expected "${RULESET_TYPE}"`);
  if (data.attributes !== undefined && !isObject(data.attributes)) throw badRequest('"attributes" must be an object');
  return data;
}

/** Writable attributes present in the body; read-only and unknown attributes are ignored. */
function readAttributes(attributes: Record<string, unknown>): Partial<RulesetAttributes> {
  const out: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(attributeSchemas)) {
    const value = attributes[key];
    if (value === undefined) continue;
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? ` (item ${issue.path.join('.')})` : '';
      throw invalidArgument(`Invalid value for attribute "${key}"${where}: ${issue?.message ?? 'invalid'}`);
    }
    out[key] = parsed.data;
  }
  return out as Partial<RulesetAttributes>;
}

export type CreateAttributes = Partial<RulesetAttributes> & Pick<RulesetAttributes, 'name' | 'rules'>;

export function parseCreateBody(body: unknown): CreateAttributes {
  const data = rulesetData(body);
  const raw = (data.attributes ?? {}) as Record<string, unknown>;
  for (const required of ['name', 'rules'] as const) {
    if (raw[required] === undefined || raw[required] === null) {
      throw badRequest(`Missing required attribute "${required}"`);
    }
  }
  return readAttributes(raw) as CreateAttributes;
}

export function parsePatchBody(body: unknown, id: string): Partial<RulesetAttributes> {
  const data = rulesetData(body);
  if (data.id !== undefined && data.id !== id) {
    throw badRequest(`Object id "${String(data.id)}" does not match the id in the URL "${id}"`);
  }
  return readAttributes((data.attributes ?? {}) as Record<string, unknown>);
}

const editorSchema = z.object({ type: z.string(), id: z.string().refine(nonBlank, 'must not be empty') });

/** `{"data": [{"type": "user"|"group", "id": ...}, ...]}`: a list, so one call adds several. */
export function parseEditorsBody(body: unknown): EditorDescriptor[] {
  const data = dataOf(body);
  if (!Array.isArray(data)) throw badRequest('"data" must be a list of {"type", "id"} descriptors');
  return data.map((item, index) => {
    const parsed = editorSchema.safeParse(item);
    if (!parsed.success) throw badRequest(`Invalid descriptor at data.${index}: expected {"type", "id"}`);
    const { type, id } = parsed.data;
    if (type !== 'user' && type !== 'group') {
      throw badRequest(`Invalid editor type "${type}" at data.${index}, expected "user" or "group"`);
    }
    return { type, id };
  });
}

/** `{"data": {"type": "user", "id": ...}}`: a ruleset is owned by a user, never a group. */
export function parseOwnerBody(body: unknown): string {
  const data = dataOf(body);
  const parsed = editorSchema.safeParse(data);
  if (!parsed.success) throw badRequest('"data" must be a {"type": "user", "id"} descriptor');
  if (parsed.data.type !== 'user') throw badRequest(`Invalid owner type "${parsed.data.type}", expected "user"`);
  return parsed.data.id;
}

/** What VirusTotal's compiler and limits would refuse in a ruleset's text. */
export class RulesValidator {
  private invalidPattern: RegExp | undefined;

  constructor(private readonly maxBytes: number) {}

  setInvalidPattern(re: RegExp | undefined): void {
    // Drop g/y so that test() does not carry lastIndex between calls.
    this.invalidPattern = re ? new RegExp(re.source, re.flags.replace(/[gy]/g, '')) : undefined;
  }

  /** `matchObjectType` is the ruleset's: VirusTotal compiles file rules and URL rules differently. */
  validate(rules: string, matchObjectType: string): void {
    const bytes = Buffer.byteLength(rules, 'utf8');
    if (bytes > this.maxBytes) {
      throw invalidArgument(`Ruleset is too large: ${bytes} bytes, the maximum is ${this.maxBytes} bytes`);
    }
    const checked = compileForVirusTotal(rules, matchObjectType);
    if (!checked.ok) throw invalidArgument(checked.message);
    const match = this.invalidPattern?.exec(rules);
    if (match) {
      const shown = match[0].length > 40 ? `${match[0].slice(0, 40)}...` : match[0];
      throw invalidArgument(`line ${lineOf(rules, match.index)}: syntax error, unexpected "${shown}"`);
    }
  }
}
