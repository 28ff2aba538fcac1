/**
 * The worker role: runs the indicator workflows and the VirusTotal activities.
 * Stateless; any number of replicas can poll the same task queue.
 */
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createLivehuntActivities } from '../activities/livehunt';
import { RequestPacer } from '../activities/request-pacer';
import { VirusTotalClient } from '../activities/virustotal-client';
import type { WorkerConfig } from '../config/load';
import { createHttpClient } from '../common/http';
import type { Logger } from '../common/logger';
import { RULESET_ID } from '../workflows/search-attributes';
import { rulesetCounts, type WorkerMetrics } from './metrics';
import { ensureSearchAttributes } from './search-attributes';
import { workflowCodeSource } from './workflow-bundle';

export interface WorkerRunOptions {
  config: WorkerConfig;
  connection: NativeConnection;
  namespace: string;
  log: Logger;
  /** Used to ask Temporal which indicator workflows hold a ruleset before adopting it. */
  client?: Client;
  /**
   * A workflow bundle built in-process (tests reuse one across restarts); otherwise the prebuilt
   * bundle of `npm run build` when running compiled, else bundled from source (workflow-bundle.ts).
   */
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** The worker's Prometheus series (worker/metrics.ts); none when metrics are not exposed. */
  metrics?: WorkerMetrics;
}

/** VirusTotal requests of the common activity: create, plus one editors request when sharing. */
export function requestsPerActivity(config: WorkerConfig): number {
  return config.virusTotal.editors.length > 0 ? 2 : 1;
}

/** The workflow code option of Worker.create, and a log line saying which one it is. */
function workflowCode(
  given: WorkflowBundleWithSourceMap | undefined,
  log: Logger,
): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  if (given) return { workflowBundle: given };
  const source = workflowCodeSource();
  if (source.kind === 'prebuilt') {
    log.info('workflow code: prebuilt bundle', { path: source.codePath });
    return { workflowBundle: { codePath: source.codePath } };
  }
  log.info('workflow code: bundling the workflow sources at start-up', { path: source.workflowsPath, why: source.why });
  return { workflowsPath: source.workflowsPath };
}

/** Running indicator workflows whose search attributes record this ruleset id. */
function rulesetHolders(client: Client) {
  return async (rulesetId: string): Promise<string[]> => {
    const holders: string[] = [];
    const query = `${RULESET_ID.name} = "${rulesetId.replace(/["\\]/g, '')}" AND ExecutionStatus = "Running"`;
    for await (const workflow of client.workflow.list({ query })) holders.push(workflow.workflowId);
    return holders;
  };
}

export async function createWorker({
  config,
  connection,
  namespace,
  log,
  client,
  workflowBundle,
  metrics,
}: WorkerRunOptions): Promise<Worker> {
  await ensureSearchAttributes(connection, namespace, log);
  const budget = config.virusTotal.maxRequestsPerSecond;
  const virusTotal = new VirusTotalClient({
    apiUrl: config.virusTotal.apiUrl,
    apiKey: config.virusTotal.apiKey,
    fetch: createHttpClient({ proxy: config.network.proxy }).fetch,
    pacer: budget === undefined ? undefined : new RequestPacer(budget),
    observe: metrics?.virusTotalRequest,
  });
  if (metrics && client) metrics.countRulesetsWith(rulesetCounts(client, config.temporal.taskQueue));
  const livehuntActivities = createLivehuntActivities({
    client: virusTotal,
    settings: config.virusTotal,
    log: log.child({ component: 'activities' }),
    rulesetHolders: client ? rulesetHolders(client) : undefined,
  });
  const activities = metrics ? metrics.instrument(livehuntActivities) : livehuntActivities;
  return Worker.create({
    connection,
    namespace,
    taskQueue: config.temporal.taskQueue,
    ...workflowCode(workflowBundle, log),
    activities,
    maxConcurrentActivityTaskExecutions: config.temporal.maxConcurrentActivities,
    // An evicted workflow is replayed from its (short) history on its next event or timer.
    maxCachedWorkflows: config.temporal.maxCachedWorkflows,
    // The VirusTotal budget is enforced by the server across every worker on the queue. It limits
    // activities, and the usual activity makes one request, or two when it also shares the new
    // ruleset with editors, so the budget in requests is divided accordingly.
    maxTaskQueueActivitiesPerSecond:
      config.virusTotal.maxRequestsPerSecond === undefined
        ? undefined
        : config.virusTotal.maxRequestsPerSecond / requestsPerActivity(config),
    shutdownGraceTime: '10 seconds',
  });
}
