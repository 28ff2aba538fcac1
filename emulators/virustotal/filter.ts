// List semantics of GET /intelligence/hunting_rulesets: the `filter` language (whole-word
// matching, which is why clients must compare names exactly after a name: search), `order`,
// `limit` and opaque cursors.

import { createHash } from 'node:crypto';
import { invalidArgument } from './errors';
import type { Entry } from './store';
import type { StoredRuleset } from './types';

export const DEFAULT_PAGE_SIZE = 10;

// ---------------------------------------------------------------------------------------------
// filter

type Term = { key: 'enabled'; value: boolean } | { key: 'name' | 'rules'; words: string[] } | { key: 'tag'; value: string };

/** Words are runs of letters and digits, compared case-insensitively. */
export function words(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) as string[];
}

/** Splits on whitespace outside double quotes, so `name:"two words"` is one term. */
function splitTerms(filter: string): string[] {
  return (filter.match(/(?:[^\s"]+|"[^"]*")+/g) ?? []).map((t) => t.replace(/"/g, ''));
}

export function parseFilter(filter: string | undefined): Term[] {
  if (filter === undefined) return [];
  return splitTerms(filter).map((raw): Term => {
    const colon = raw.indexOf(':');
    // A bare word searches the name, like the name: key.
    const key = colon < 0 ? 'name' : raw.slice(0, colon).toLowerCase();
    const value = colon < 0 ? raw : raw.slice(colon + 1);
    if (value === '') throw invalidArgument(`Invalid filter "${raw}": empty value`);
    switch (key) {
      case 'enabled':
        if (value !== 'true' && value !== 'false') {
          throw invalidArgument(`Invalid filter "${raw}": enabled must be true or false`);
        }
        return { key, value: value === 'true' };
      case 'name':
      case 'rules': {
        const w = words(value);
        if (w.length === 0) throw invalidArgument(`Invalid filter "${raw}": no word to search`);
        return { key, words: w };
      }
      case 'tag':
        return { key, value: value.toLowerCase() };
      default:
        throw invalidArgument(`Invalid filter "${raw}": unknown key "${key}"`);
    }
  });
}

/**
 * All terms must hold. A multi-word value (`name:octi-1234`) needs every word present, in any
 * position: VT only documents whole-word matching, so the emulator promises no more than that.
 */
export function matchesFilter(r: StoredRuleset, terms: Term[]): boolean {
  return terms.every((t) => {
    switch (t.key) {
      case 'enabled':
        return r.enabled === t.value;
      case 'name':
      case 'rules': {
        const have = new Set(words(t.key === 'name' ? r.name : r.rules));
        return t.words.every((w) => have.has(w));
      }
      case 'tag':
        return r.tags.some((tag) => tag.toLowerCase() === t.value);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// order

const ORDER_FIELDS = ['name', 'creation_date', 'modification_date'] as const;
type OrderField = (typeof ORDER_FIELDS)[number];

export interface Order {
  field: OrderField;
  descending: boolean;
}

export function parseOrder(order: string | undefined): Order {
  // A literal `+` in a query string decodes to a space, so `order=name+` arrives as "name ".
  const raw = (order ?? '').trim();
  if (raw === '') return { field: 'creation_date', descending: false };
  const suffix = raw.slice(-1);
  const descending = suffix === '-';
  const field = suffix === '-' || suffix === '+' ? raw.slice(0, -1) : raw;
  if (!(ORDER_FIELDS as readonly string[]).includes(field)) {
    throw invalidArgument(`Invalid order "${raw}": expected one of ${ORDER_FIELDS.join(', ')} with optional + or -`);
  }
  return { field: field as OrderField, descending };
}

/** Sort key of an entry: the ordered field, then creation sequence so ties are stable. */
type SortKey = [string | number, number];

const sortKey = (e: Entry, order: Order): SortKey => [e.ruleset[order.field], e.seq];

function compareKeys(a: SortKey, b: SortKey, order: Order): number {
  const [av, aseq] = a;
  const [bv, bseq] = b;
  const c = av < bv ? -1 : av > bv ? 1 : aseq - bseq;
  return order.descending ? -c : c;
}

// ---------------------------------------------------------------------------------------------
// limit and cursors

/** Default 10, capped at pageMax like VT caps collections; garbage is a 400. */
export function parseLimit(raw: string | undefined, pageMax: number): number {
  if (raw === undefined || raw === '') return Math.min(DEFAULT_PAGE_SIZE, pageMax);
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw invalidArgument(`Invalid limit "${raw}": expected a positive integer`);
  return Math.min(Number(raw), pageMax);
}

/** Ties a cursor to the query it came from, so replaying it with another filter/order is a 400. */
export function fingerprint(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 12);
}

function encodeCursor(payload: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

function decodeCursor(raw: string, expectedFingerprint: string): Record<string, unknown> {
  let payload: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(raw)) throw new Error('not base64url');
    payload = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw invalidArgument(`Invalid cursor "${raw}"`);
  }
  if (typeof payload !== 'object' || payload === null || (payload as { f?: unknown }).f !== expectedFingerprint) {
    throw invalidArgument(`Invalid cursor "${raw}"`);
  }
  return payload as Record<string, unknown>;
}

export interface Page<T> {
  items: T[];
  /** Present only when more items remain. */
  nextCursor?: string;
}

/**
 * Keyset pagination: the cursor remembers the sort key of the last item served, so rulesets
 * created or deleted between two pages neither shift nor repeat the others (like the
 * datastore cursors VT hands out, unlike an offset).
 */
export function pageRulesets(entries: Entry[], order: Order, limit: number, cursor: string | undefined, fp: string): Page<Entry> {
  let sorted = [...entries].sort((a, b) => compareKeys(sortKey(a, order), sortKey(b, order), order));
  if (cursor !== undefined) {
    const k = decodeCursor(cursor, fp).k;
    const valid =
      Array.isArray(k) && k.length === 2 && typeof k[0] === (order.field === 'name' ? 'string' : 'number') && typeof k[1] === 'number';
    if (!valid) throw invalidArgument(`Invalid cursor "${cursor}"`);
    const after = k as SortKey;
    sorted = sorted.filter((e) => compareKeys(sortKey(e, order), after, order) > 0);
  }
  const items = sorted.slice(0, limit);
  const last = items[items.length - 1];
  if (sorted.length <= limit || last === undefined) return { items };
  return { items, nextCursor: encodeCursor({ f: fp, k: sortKey(last, order) }) };
}

/** Offset pagination for small relationship lists (editors). */
export function pageByOffset<T>(items: T[], limit: number, cursor: string | undefined, fp: string): Page<T> {
  let offset = 0;
  if (cursor !== undefined) {
    const o = decodeCursor(cursor, fp).o;
    if (typeof o !== 'number' || !Number.isInteger(o) || o < 0) throw invalidArgument(`Invalid cursor "${cursor}"`);
    offset = o;
  }
  const end = offset + limit;
  const page = items.slice(offset, end);
  return end < items.length ? { items: page, nextCursor: encodeCursor({ f: fp, o: end }) } : { items: page };
}
