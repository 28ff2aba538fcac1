/**
 * Reads the emulated VirusTotal's request log: what the connector asked for, when each ruleset
 * came to exist (the create's arrival plus the emulated latency is when VirusTotal answered it),
 * and how much of a quota went to 429 answers.
 */
import type { RecordedRequest, VirusTotalEmulator } from '../../emulators/virustotal';

const RULESETS = '/intelligence/hunting_rulesets';
const EDITORS = /^\/intelligence\/hunting_rulesets\/[^/]+\/relationships\/editors$/;

export type RequestKind = 'create' | 'editors' | 'list' | 'get' | 'update' | 'delete' | 'other';

export function kindOf(request: RecordedRequest): RequestKind {
  const path = request.path;
  if (request.method === 'POST' && path === RULESETS) return 'create';
  if (request.method === 'POST' && EDITORS.test(path)) return 'editors';
  if (request.method === 'GET' && path === RULESETS) return 'list';
  if (request.method === 'GET') return 'get';
  if (request.method === 'PATCH') return 'update';
  if (request.method === 'DELETE') return 'delete';
  return 'other';
}

function nameOf(request: RecordedRequest): string | undefined {
  const body = request.body as { data?: { attributes?: { name?: unknown } } } | undefined;
  const name = body?.data?.attributes?.name;
  return typeof name === 'string' ? name : undefined;
}

export interface RequestSummary {
  total: number;
  /** Answers other than 429. */
  admitted: number;
  rejected429: number;
  byKind: Partial<Record<RequestKind, number>>;
  byStatus: Record<string, number>;
  /** Arrival of the first request. */
  firstAt?: number;
  /** When the last request was answered (arrival + latency). */
  lastAnsweredAt?: number;
}

export function summarise(requests: readonly RecordedRequest[], latencyMs: number): RequestSummary {
  const summary: RequestSummary = { total: requests.length, admitted: 0, rejected429: 0, byKind: {}, byStatus: {} };
  for (const request of requests) {
    const kind = kindOf(request);
    summary.byKind[kind] = (summary.byKind[kind] ?? 0) + 1;
    summary.byStatus[String(request.status)] = (summary.byStatus[String(request.status)] ?? 0) + 1;
    if (request.status === 429) summary.rejected429++;
    else summary.admitted++;
    summary.firstAt = Math.min(summary.firstAt ?? request.at, request.at);
    summary.lastAnsweredAt = Math.max(summary.lastAnsweredAt ?? 0, request.at + latencyMs);
  }
  return summary;
}

export interface RulesetTimes {
  /** The successful create was answered: the ruleset exists in VirusTotal. */
  createdAt: number;
  /** The editors request after it was answered: the ruleset is shared as configured. */
  sharedAt?: number;
}

/**
 * For each ruleset name, when its (last) successful create and the following editors request
 * were answered. The create request carries no id, so editors are linked through the store.
 */
export function rulesetTimes(vt: VirusTotalEmulator, requests: readonly RecordedRequest[], latencyMs: number): Map<string, RulesetTimes> {
  const idToName = new Map(vt.rulesets().map((ruleset) => [ruleset.id, ruleset.name]));
  const byName = new Map<string, RulesetTimes>();
  for (const request of requests) {
    if (request.status >= 300) continue;
    const kind = kindOf(request);
    if (kind === 'create') {
      const name = nameOf(request);
      if (name !== undefined) byName.set(name, { createdAt: request.at + latencyMs });
    } else if (kind === 'editors') {
      const name = idToName.get(decodeURIComponent(request.path.split('/')[3] ?? ''));
      const times = name === undefined ? undefined : byName.get(name);
      if (times) times.sharedAt = request.at + latencyMs;
    }
  }
  return byName;
}

/** How many rulesets carry each name: a name held twice is a duplicate the connector made. */
export function duplicates(vt: VirusTotalEmulator): number {
  const counts = new Map<string, number>();
  for (const ruleset of vt.rulesets()) counts.set(ruleset.name, (counts.get(ruleset.name) ?? 0) + 1);
  return [...counts.values()].filter((count) => count > 1).reduce((sum, count) => sum + count - 1, 0);
}

/** Requests per second over sliding one-second windows (admitted ones only, or all offered): the highest. */
export function peakRequestsPerSecond(requests: readonly RecordedRequest[], offered = false): number {
  const times = requests
    .filter((request) => offered || request.status !== 429)
    .map((request) => request.at)
    .sort((a, b) => a - b);
  let peak = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= 1000) start++;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}
