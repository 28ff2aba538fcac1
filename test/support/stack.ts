/**
 * One connector deployment for end-to-end tests: fresh emulators of OpenCTI and VirusTotal, and
 * the worker and starter as child processes configured only by environment variables, on a
 * shared real Temporal server. Each stack has its own task queue and connector id.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { indicatorWorkflowId } from '../../domain/indicator';
import { compareStreamIds } from '../../domain/stream-id';
import { startOpenCtiEmulator, type OpenCtiEmulator, type OpenCtiEmulatorOptions } from '../../emulators/opencti';
import { startVirusTotalEmulator, type VirusTotalEmulator, type VirusTotalEmulatorOptions } from '../../emulators/virustotal';
import type { DevServer } from '../../temporal/dev-server';
import type { IndicatorWorkflowState } from '../../workflows/definitions';
import { RoleProcess, waitFor } from './processes';

export interface StackOptions {
  env?: Record<string, string>;
  opencti?: OpenCtiEmulatorOptions;
  virusTotal?: VirusTotalEmulatorOptions;
  /** Start the starter too (default true). */
  starter?: boolean;
  /** Runs after the emulators start and before the connector does (e.g. pre-existing rulesets). */
  prepare?: (emulators: { opencti: OpenCtiEmulator; vt: VirusTotalEmulator }) => void;
}

export class Stack {
  worker!: RoleProcess;
  starter?: RoleProcess;
  readonly connectorId = randomUUID();
  readonly taskQueue = `e2e-${randomUUID().slice(0, 8)}`;
  env!: Record<string, string>;

  private constructor(
    readonly temporal: DevServer,
    readonly client: Client,
    readonly opencti: OpenCtiEmulator,
    readonly vt: VirusTotalEmulator,
  ) {}

  static async start(temporal: DevServer, options: StackOptions = {}): Promise<Stack> {
    const [opencti, vt, connection] = await Promise.all([
      startOpenCtiEmulator({ heartbeatMs: 1000, ...options.opencti }),
      startVirusTotalEmulator(options.virusTotal),
      Connection.connect({ address: temporal.address }),
    ]);
    const stack = new Stack(temporal, new Client({ connection }), opencti, vt);
    options.prepare?.({ opencti, vt });
    stack.env = {
      OPENCTI_URL: opencti.url,
      OPENCTI_TOKEN: opencti.token,
      CONNECTOR_ID: stack.connectorId,
      CONNECTOR_LIVE_STREAM_ID: opencti.streamId,
      VIRUSTOTAL_LIVEHUNT_TOKEN: 'vt-test-key',
      VIRUSTOTAL_LIVEHUNT_API_URL: vt.url,
      VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS: 'soc@example.org',
      VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS: 'analyst1,group:soc',
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: stack.taskQueue,
      ...options.env,
    };
    stack.worker = RoleProcess.start('worker', stack.env);
    if (options.starter !== false) {
      stack.starter = RoleProcess.start('starter', stack.env);
      // Indicators created before the first connection arrive in the recover snapshot, whose ids
      // (`<updated_at-ms>-0`) differ from the event ids tests wait for; start the tests live.
      await waitFor('the starter to connect to the stream', () => opencti.connections() > 0, 60_000);
    }
    return stack;
  }

  restartWorker(extraEnv: Record<string, string> = {}): void {
    this.worker = RoleProcess.start('worker', { ...this.env, ...extraEnv });
  }

  restartStarter(): void {
    this.starter = RoleProcess.start('starter', this.env);
  }

  handle(internalId: string) {
    return this.client.workflow.getHandle(indicatorWorkflowId(internalId));
  }

  async state(internalId: string): Promise<IndicatorWorkflowState | undefined> {
    try {
      return (await this.handle(internalId).query('state')) as IndicatorWorkflowState;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  }

  /** Waits until the indicator's workflow has applied the stream event `eventId` (or a later one). */
  async applied(internalId: string, eventId: string, timeoutMs = 60_000): Promise<IndicatorWorkflowState> {
    try {
      return await waitFor(
        `${internalId} to apply ${eventId}`,
        async () => {
          const state = await this.state(internalId);
          return state?.lastAppliedStreamId && compareStreamIds(state.lastAppliedStreamId, eventId) >= 0 && state.queued === 0
            ? state
            : undefined;
        },
        timeoutMs,
        200,
      );
    } catch (error) {
      // Say what the workflow was doing: the state it reports and the activity it is stuck in.
      const state = await this.state(internalId).catch(() => undefined);
      const pending = await this.handle(internalId)
        .describe()
        .then((d) =>
          d.raw.pendingActivities?.map((a) => `${a.activityType?.name} attempt ${a.attempt}: ${a.lastFailure?.message ?? 'no failure'}`),
        )
        .catch(() => undefined);
      throw new Error(
        `${(error as Error).message}\nstate: ${JSON.stringify(state)}\npending activities: ${JSON.stringify(pending)}\nworker log tail:\n${this.worker.log().slice(-2000)}`,
        { cause: error },
      );
    }
  }

  rulesetsNamed(name: string) {
    return this.vt.rulesets().filter((ruleset) => ruleset.name === name);
  }

  writes() {
    return this.vt.requests().filter((request) => request.method !== 'GET');
  }

  async stop(): Promise<void> {
    await Promise.all([this.worker.kill('SIGTERM'), this.starter?.kill('SIGTERM')]);
    await this.client.connection.close();
    await Promise.all([this.opencti.close(), this.vt.close()]);
  }
}
