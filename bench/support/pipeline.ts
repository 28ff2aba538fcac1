/**
 * One connector deployment as users run it, fresh for every benchmark run: a Temporal dev server
 * persisted in a SQLite file (as `npm start` does), the OpenCTI and VirusTotal emulators (in this
 * process), the worker process(es) and the starter process configured only by environment.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { freeLoopbackPort } from '../../common/metrics-server';
import { processEnvironment } from '../../config';
import { startOpenCtiEmulator, type OpenCtiEmulator } from '../../emulators/opencti';
import { startVirusTotalEmulator, type VirusTotalEmulator } from '../../emulators/virustotal';
import { resolveTemporalCli } from '../../temporal/cli';
import { DEFAULT_DYNAMIC_CONFIG, DEFAULT_SQLITE_PRAGMAS, startDevServer, type DevServer } from '../../temporal/dev-server';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { ChildRole, ROLE_ENTRY } from './roles';

export const TASK_QUEUE = 'virustotal-livehunt';

/** Connector settings every benchmark deployment has (the emulators' addresses come on top). */
export const PIPELINE_DEFAULTS: Record<string, string> = {
  OPENCTI_URL: 'http://127.0.0.1',
  OPENCTI_TOKEN: 'opencti-test-token',
  VIRUSTOTAL_LIVEHUNT_TOKEN: 'vt-test-key',
  VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS: 'soc@example.org',
  VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS: 'analyst1,group:soc',
  TEMPORAL_TASK_QUEUE: TASK_QUEUE,
};

export interface DevServerSetup {
  server: DevServer;
  client: Client;
  dbFile: string;
  persistence: string;
}

/**
 * How the dev server differs from the one `npm start` runs (a SQLite file with the pragmas
 * temporal/dev-server.ts sets by default). Only the diagnostic variants set anything here.
 */
export interface DevServerVariant {
  persistence?: 'file' | 'memory';
  /** Replaces the default pragmas; `{}` is the Temporal CLI's own default (rollback journal, full sync). */
  sqlitePragmas?: Record<string, string>;
  dynamicConfig?: Record<string, string | number | boolean>;
}

/** The CLI's SQLite default, which `npm start` used before it set DEFAULT_SQLITE_PRAGMAS. */
export const ROLLBACK_JOURNAL: Record<string, string> = {};
/** Activities through matching only, as before `npm start` turned eager activities on. */
export const NO_EAGER_ACTIVITIES = { 'system.enableActivityEagerExecution': false } as const;

export function describeDevServer(variant: DevServerVariant = {}): string {
  if ((variant.persistence ?? 'file') === 'memory') return 'in memory';
  const pragmas = variant.sqlitePragmas ?? DEFAULT_SQLITE_PRAGMAS;
  const journal =
    Object.keys(pragmas).length === 0
      ? 'CLI default journal'
      : Object.entries(pragmas)
          .map(([key, value]) => `${key}=${value}`)
          .join(', ');
  const extras = Object.entries({ ...DEFAULT_DYNAMIC_CONFIG, ...variant.dynamicConfig }).map(([key, value]) => `${key}=${String(value)}`);
  return `SQLite file (${[journal, ...extras].join(', ')})`;
}

/**
 * A dev server on a fresh SQLite file, started by temporal/dev-server.ts as `npm start` starts
 * it, with the connector's search attributes; a variant only for diagnosing where the time goes.
 */
export async function startBenchTemporal(runDir: string, variant: DevServerVariant = {}): Promise<DevServerSetup> {
  const env = processEnvironment();
  const cli = await resolveTemporalCli({ cliPath: env.TEMPORAL_CLI_PATH || undefined, searchPath: env.PATH ?? '' });
  mkdirSync(runDir, { recursive: true });
  const dbFile = path.join(runDir, 'temporal.db');
  const server = await startDevServer({
    cliPath: cli.path,
    ...((variant.persistence ?? 'file') === 'file' ? { dbFile } : {}),
    ...(variant.sqlitePragmas ? { sqlitePragmas: variant.sqlitePragmas } : {}),
    uiPort: false,
    searchAttributes: Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((key) => [key.name, 'Keyword' as const])),
    ...(variant.dynamicConfig ? { dynamicConfig: variant.dynamicConfig } : {}),
    logFile: path.join(runDir, 'temporal-server.log'),
  });
  const connection = await Connection.connect({ address: server.address });
  return { server, client: new Client({ connection }), dbFile, persistence: describeDevServer(variant) };
}

export interface PipelineOptions {
  runDir: string;
  workers?: number;
  vtLatencyMs: number;
  /** The emulated VirusTotal's quota (429 beyond it). */
  vtMaxRequestsPerSecond?: number;
  /** More connector settings (e.g. VIRUSTOTAL_LIVEHUNT_MAX_REQUESTS_PER_SECOND). */
  env?: Record<string, string>;
  /** Diagnostic only: a dev server unlike npm start's. */
  devServer?: DevServerVariant;
  /** Diagnostic only: another worker entry (e.g. support/variant-worker.ts) and its arguments. */
  workerEntry?: { entry: string; args: string[] };
  /** Every role serves its Prometheus metrics (on a port of its own) and is scraped this often: what they cost. */
  scrapeMetricsEveryMs?: number;
}

export class Pipeline {
  readonly workers: ChildRole[] = [];
  starter?: ChildRole;
  starterSpawnedAt?: number;
  readonly env: Record<string, string>;
  private readonly metricsPorts: number[] = [];
  private scraper?: NodeJS.Timeout;

  private constructor(
    readonly options: PipelineOptions,
    readonly temporal: DevServerSetup,
    readonly opencti: OpenCtiEmulator,
    readonly vt: VirusTotalEmulator,
  ) {
    const configFile = path.join(options.runDir, 'empty-config.yml');
    writeFileSync(configFile, '# the benchmark configures the connector through the environment only\n');
    this.env = {
      ...PIPELINE_DEFAULTS,
      OPENCTI_URL: opencti.url,
      OPENCTI_TOKEN: opencti.token,
      CONNECTOR_ID: randomUUID(),
      CONNECTOR_LIVE_STREAM_ID: opencti.streamId,
      CONNECTOR_CONFIG_FILE: configFile,
      VIRUSTOTAL_LIVEHUNT_API_URL: vt.url,
      TEMPORAL_ADDRESS: temporal.server.address,
      ...(options.scrapeMetricsEveryMs ? { CONNECTOR_EXPOSE_METRICS: 'true' } : {}),
      ...options.env,
    };
    if (options.scrapeMetricsEveryMs) {
      // As a Prometheus server would: every role's /metrics, read whole, on a fixed period.
      this.scraper = setInterval(() => {
        for (const port of this.metricsPorts)
          fetch(`http://127.0.0.1:${port}/metrics`)
            .then((response) => response.text())
            .catch(() => undefined);
      }, options.scrapeMetricsEveryMs);
      this.scraper.unref();
    }
  }

  /** The role's environment: its own metrics port when metrics are scraped. */
  private async roleEnv(): Promise<Record<string, string>> {
    if (!this.options.scrapeMetricsEveryMs) return this.env;
    const port = await freeLoopbackPort();
    this.metricsPorts.push(port);
    return { ...this.env, CONNECTOR_METRICS_PORT: String(port) };
  }

  /** Everything but the starter: the worker(s) are polling when this resolves. */
  static async start(options: PipelineOptions): Promise<Pipeline> {
    mkdirSync(options.runDir, { recursive: true });
    const [temporal, opencti, vt] = await Promise.all([
      startBenchTemporal(options.runDir, options.devServer),
      startOpenCtiEmulator({ heartbeatMs: 1000 }),
      startVirusTotalEmulator({ latencyMs: options.vtLatencyMs, maxRequestsPerSecond: options.vtMaxRequestsPerSecond }),
    ]);
    const pipeline = new Pipeline(options, temporal, opencti, vt);
    try {
      await pipeline.addWorkers(options.workers ?? 1);
    } catch (error) {
      await pipeline.stop();
      throw error;
    }
    return pipeline;
  }

  async addWorkers(count: number): Promise<void> {
    const started: ChildRole[] = [];
    for (let i = 0; i < count; i++) {
      const index = this.workers.length + 1;
      const entry = this.options.workerEntry ?? { entry: ROLE_ENTRY.worker, args: [] };
      const worker = ChildRole.start(
        `worker${index}`,
        entry.entry,
        await this.roleEnv(),
        path.join(this.options.runDir, `worker${index}.log`),
        entry.args,
      );
      this.workers.push(worker);
      started.push(worker);
    }
    // Bundling the workflow code takes a few seconds; a benchmark starts timing once they poll.
    await Promise.all(started.map((worker) => worker.waitForLog(/"message":"worker polling"/)));
  }

  async startStarter(): Promise<ChildRole> {
    const env = await this.roleEnv();
    this.starterSpawnedAt = Date.now();
    this.starter = ChildRole.start('starter', ROLE_ENTRY.starter, env, path.join(this.options.runDir, 'starter.log'));
    return this.starter;
  }

  /** Processes worth measuring, by name. */
  pids(): Record<string, number> {
    const pids: Record<string, number> = { devServer: this.temporal.server.pid, bench: process.pid };
    this.workers.forEach((worker, i) => (pids[this.workers.length === 1 ? 'worker' : `worker${i + 1}`] = worker.pid));
    if (this.starter) pids.starter = this.starter.pid;
    return pids;
  }

  /** Lines at warn or error level the roles logged (a benchmark reports them, it does not hide them). */
  problems(): string[] {
    const roles = [...this.workers, ...(this.starter ? [this.starter] : [])];
    return roles.flatMap((role) =>
      role
        .log()
        .split('\n')
        .filter((line) => /"level":"(WARNING|ERROR)"/.test(line))
        .map((line) => `${role.name}: ${line.slice(0, 300)}`),
    );
  }

  async stop(keep = false): Promise<void> {
    clearInterval(this.scraper);
    await Promise.all([...this.workers, ...(this.starter ? [this.starter] : [])].map((role) => role.stop()));
    await this.temporal.client.connection.close().catch(() => undefined);
    await Promise.all([this.temporal.server.stop(), this.opencti.close(), this.vt.close()]);
    if (!keep) removeRunDir(this.options.runDir);
  }
}

export function removeRunDir(runDir: string): void {
  rmSync(runDir, { recursive: true, force: true });
}
