// VirusTotal API v3 object and collection envelopes for hunting rulesets and their
// relationships. Computed attributes (rule_names, number_of_rules, rate_limited) are derived
// here, at answer time, so they always agree with the stored rules text.

import type { Answer } from './faults';
import type { StoredRuleset } from './types';
import { ruleNames } from './yara';

export function json(status: number, value: unknown): Answer {
  return { status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(value) };
}

/** 200 with no body: what the emulator answers where VT's response body is undocumented. */
export const emptyOk = (): Answer => ({ status: 200 });

export const rulesetPath = (id: string): string => `/intelligence/hunting_rulesets/${encodeURIComponent(id)}`;

export function rulesetAttributes(r: StoredRuleset): Record<string, unknown> {
  const names = ruleNames(r.rules);
  return {
    name: r.name,
    rules: r.rules,
    enabled: r.enabled,
    limit: r.limit,
    notification_emails: [...r.notification_emails],
    match_object_type: r.match_object_type,
    tags: [...r.tags],
    creation_date: r.creation_date,
    modification_date: r.modification_date,
    number_of_rules: names.length,
    rule_names: names,
    // Nothing ever matches in the emulator, so no ruleset is ever paused by its limit.
    rate_limited: false,
    rate_limited_ratio: 0,
  };
}

const descriptors = (r: StoredRuleset): Array<{ type: string; id: string }> => r.editors.map((e) => ({ type: e.type, id: e.id }));

/** `?relationships=editors,owner` embeds descriptors, as VT does for any object. */
function relationships(r: StoredRuleset, base: string, wanted: string[]): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  const self = `${base}${rulesetPath(r.id)}`;
  for (const name of wanted) {
    if (name === 'editors') {
      out.editors = {
        data: descriptors(r),
        links: { self: `${self}/relationships/editors`, related: `${self}/editors` },
      };
    } else if (name === 'owner') {
      out.owner = {
        data: { type: 'user', id: r.owner },
        links: { self: `${self}/relationships/owner`, related: `${self}/owner` },
      };
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

export function rulesetObject(r: StoredRuleset, base: string, wantedRelationships: string[] = []): Record<string, unknown> {
  const object: Record<string, unknown> = {
    type: 'hunting_ruleset',
    id: r.id,
    links: { self: `${base}${rulesetPath(r.id)}` },
    attributes: rulesetAttributes(r),
  };
  const rel = relationships(r, base, wantedRelationships);
  if (rel) object.relationships = rel;
  return object;
}

/** A URL with a query string, omitting the `?` when there is no query. */
export function withQuery(url: string, query: URLSearchParams): string {
  const q = query.toString();
  return q === '' ? url : `${url}?${q}`;
}

/**
 * Collection envelope: `meta.cursor` and `links.next` only while more items remain, so a
 * client that loops "while next" terminates and one that ignores cursors sees only page one.
 */
export function collection(
  data: unknown[],
  selfUrl: string,
  query: URLSearchParams,
  limit: number,
  nextCursor: string | undefined,
): Record<string, unknown> {
  const body: Record<string, unknown> = { data, links: { self: withQuery(selfUrl, query) } };
  if (nextCursor !== undefined) {
    const next = new URLSearchParams(query);
    next.set('cursor', nextCursor);
    next.set('limit', String(limit));
    body.meta = { cursor: nextCursor };
    body.links = { self: withQuery(selfUrl, query), next: withQuery(selfUrl, next) };
  }
  return body;
}

export function parseRelationshipsParam(raw: string | null): string[] {
  return raw === null
    ? []
    : raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
}
