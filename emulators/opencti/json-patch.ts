/**
 * The RFC 6902 subset OpenCTI's update events need: the platform diffs the previous and the
 * new STIX object (fast-json-patch `compare`) into `context.patch` / `context.reverse_patch`,
 * and the live stream applies `reverse_patch` to rebuild the previous version before
 * evaluating collection filters (an update that makes an object leave or enter the filter). Arrays are compared as whole values; a
 * wholesale `replace` is a valid RFC 6902 encoding of an array change.
 */

export interface PatchOperation {
  op: 'add' | 'remove' | 'replace';
  path: string;
  value?: unknown;
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapeToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && deepEqual(a[key], b[key]));
  }
  return false;
}

/** Operations turning `before` into `after`. */
export function diff(before: JsonObject, after: JsonObject, basePath = ''): PatchOperation[] {
  const ops: PatchOperation[] = [];
  for (const key of Object.keys(before)) {
    if (!Object.prototype.hasOwnProperty.call(after, key)) ops.push({ op: 'remove', path: `${basePath}/${escapeToken(key)}` });
  }
  for (const [key, value] of Object.entries(after)) {
    const path = `${basePath}/${escapeToken(key)}`;
    if (!Object.prototype.hasOwnProperty.call(before, key)) {
      ops.push({ op: 'add', path, value: structuredClone(value) });
      continue;
    }
    const previous = before[key];
    if (isObject(previous) && isObject(value)) ops.push(...diff(previous, value, path));
    else if (!deepEqual(previous, value)) ops.push({ op: 'replace', path, value: structuredClone(value) });
  }
  return ops;
}

/** Applies `ops` to a copy of `doc`; throws on a path that does not resolve. */
export function applyPatch<T extends JsonObject>(doc: T, ops: readonly PatchOperation[]): T {
  const result = structuredClone(doc);
  for (const op of ops) {
    const tokens = op.path.split('/').slice(1).map(unescapeToken);
    const last = tokens.pop();
    if (last === undefined) throw new Error(`json-patch: cannot ${op.op} the document root`);
    let parent: unknown = result;
    for (const token of tokens) {
      parent = isObject(parent) ? parent[token] : Array.isArray(parent) ? parent[Number(token)] : undefined;
    }
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (op.op === 'remove') parent.splice(index, 1);
      else if (op.op === 'add') parent.splice(index, 0, structuredClone(op.value));
      else parent[index] = structuredClone(op.value);
      continue;
    }
    if (!isObject(parent)) throw new Error(`json-patch: path ${op.path} does not exist`);
    if (op.op === 'remove') delete parent[last];
    else parent[last] = structuredClone(op.value);
  }
  return result;
}
