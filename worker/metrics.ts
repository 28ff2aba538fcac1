/**
 * The worker's own Prometheus series (the SDK core's task, slot and poll metrics are served next
 * to them, see temporal/sdk-runtime.ts): what the connector asks of VirusTotal and what comes of
 * it. Fed by two hooks that leave the code they observe unchanged: the VirusTotal client's
 * `observe` option (one call per HTTP request) and a wrapper around the activity functions.
 */
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RequestObservation } from '../activities/virustotal-client';
import { INVALID_RULE } from '../domain/failures';
import { INDICATOR_WORKFLOW_TYPE } from '../workflows/definitions';
import { STATUS } from '../workflows/search-attributes';

/** Operation names of the API paths the client calls, so labels stay few whatever the ids. */
export function virusTotalOperation(method: string, path: string): string {
  const bare = path.split('?')[0] ?? '';
  if (bare.startsWith('/users/')) return 'current_user';
  if (/\/relationships\/editors$/.test(bare)) return method === 'POST' ? 'add_editors' : 'list_editors';
  if (/\/relationships\/owner$/.test(bare)) return 'get_owner';
  if (bare === '/intelligence/hunting_rulesets') return method === 'POST' ? 'create_ruleset' : 'list_rulesets';
  if (bare.startsWith('/intelligence/hunting_rulesets/')) {
    const verbs: Record<string, string> = { GET: 'get_ruleset', PATCH: 'update_ruleset', DELETE: 'delete_ruleset' };
    return verbs[method] ?? 'other';
  }
  return 'other';
}

/** How each activity's result is named in `livehunt_activity_outcomes_total`. */
function outcomeOf(activity: string, result: unknown): string | undefined {
  if (typeof result === 'string') return result;
  if (result && typeof result === 'object') {
    if (activity === 'ensureRuleset' && 'outcome' in result) return String(result.outcome);
    if (activity === 'verifyRuleset' && 'status' in result) return String(result.status);
  }
  return undefined;
}

export interface WorkerMetrics {
  /** The VirusTotal client's `observe` option. */
  virusTotalRequest(observation: RequestObservation): void;
  /** The same activities, counted. */
  instrument<A extends object>(activities: A): A;
  /** Where `livehunt_rulesets{status}` comes from (Temporal visibility); set once a client exists. */
  countRulesetsWith(count: () => Promise<Record<string, number>>): void;
}

/** Activities that are bookkeeping, not VirusTotal work. */
const UNCOUNTED = new Set(['livehuntSettings']);

export function createWorkerMetrics(registry: Registry): WorkerMetrics {
  const requests = new Counter({
    name: 'livehunt_virustotal_requests_total',
    help: 'VirusTotal API requests by operation and HTTP status ("error" when no answer came: network error or timeout).',
    labelNames: ['operation', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'livehunt_virustotal_request_duration_seconds',
    help: 'Time from sending a VirusTotal request to its answer, by operation (pacing under the request budget excluded).',
    labelNames: ['operation'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const outcomes = new Counter({
    name: 'livehunt_activity_outcomes_total',
    help: 'Finished VirusTotal activities by activity and outcome (created, adopted, recovered, deleted, absent, repaired, missing...; failed:<type> for a failed attempt).',
    labelNames: ['activity', 'outcome'] as const,
    registers: [registry],
  });
  const adopted = new Counter({
    name: 'livehunt_rulesets_adopted_total',
    help: 'Rulesets the previous (Python) connector made, taken over instead of duplicated.',
    registers: [registry],
  });
  const driftRepairs = new Counter({
    name: 'livehunt_drift_repairs_total',
    help: 'Rulesets found changed outside the connector at a check: "edited" were put back in place, "deleted" are recreated.',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const invalidRules = new Counter({
    name: 'livehunt_invalid_rules_total',
    help: 'Rules VirusTotal rejected (400): the indicator waits for a fixed pattern.',
    registers: [registry],
  });
  let countRulesets: (() => Promise<Record<string, number>>) | undefined;
  new Gauge({
    name: 'livehunt_rulesets',
    help: 'Running indicator workflows on this task queue by status (active = a live ruleset; invalid-rule; pending), from Temporal visibility. The same for every worker of the queue.',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      if (!countRulesets) return;
      const counts = await countRulesets().catch(() => undefined);
      if (!counts) return;
      this.reset();
      for (const [status, value] of Object.entries(counts)) this.set({ status }, value);
    },
  });

  function record(activity: string, outcome: string): void {
    outcomes.inc({ activity, outcome });
    if (activity === 'ensureRuleset' && outcome === 'adopted') adopted.inc();
    if (activity === 'verifyRuleset' && outcome === 'repaired') driftRepairs.inc({ kind: 'edited' });
    if (activity === 'verifyRuleset' && outcome === 'missing') driftRepairs.inc({ kind: 'deleted' });
  }

  return {
    virusTotalRequest({ method, path, status, seconds }) {
      const operation = virusTotalOperation(method, path);
      requests.inc({ operation, status: String(status) });
      latency.observe({ operation }, seconds);
    },
    instrument<A extends object>(activities: A): A {
      const wrapped: Record<string, unknown> = {};
      for (const [name, fn] of Object.entries(activities)) {
        if (typeof fn !== 'function' || UNCOUNTED.has(name)) {
          wrapped[name] = fn;
          continue;
        }
        wrapped[name] = async (...args: unknown[]) => {
          try {
            const result: unknown = await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
            const outcome = outcomeOf(name, result);
            if (outcome) record(name, outcome);
            return result;
          } catch (error) {
            const type = error instanceof ApplicationFailure ? (error.type ?? 'ApplicationFailure') : 'Error';
            if (type === INVALID_RULE) invalidRules.inc();
            record(name, `failed:${type}`);
            throw error;
          }
        };
      }
      return wrapped as A;
    },
    countRulesetsWith(count) {
      countRulesets = count;
    },
  };
}

/** Statuses a running indicator workflow can be in (closed ones hold no ruleset). */
const RUNNING_STATUSES = ['active', 'invalid-rule', 'pending'] as const;
/** Visibility is asked at most this often, however many scrapers there are. */
const COUNT_CACHE_MS = 15_000;

/** Counts of running indicator workflows by status, from Temporal visibility, cached briefly. */
export function rulesetCounts(client: Client, taskQueue: string): () => Promise<Record<string, number>> {
  let cached: { at: number; counts: Promise<Record<string, number>> } | undefined;
  const queue = taskQueue.replace(/['\\]/g, '');
  return () => {
    if (!cached || Date.now() - cached.at > COUNT_CACHE_MS) {
      const counts = Promise.all(
        RUNNING_STATUSES.map(async (status) => {
          const query = `WorkflowType = '${INDICATOR_WORKFLOW_TYPE}' AND TaskQueue = '${queue}' AND ExecutionStatus = 'Running' AND ${STATUS.name} = '${status}'`;
          return [status, (await client.workflow.count(query)).count] as const;
        }),
      ).then((entries) => Object.fromEntries(entries));
      counts.catch(() => (cached = undefined));
      cached = { at: Date.now(), counts };
    }
    return cached.counts;
  };
}
