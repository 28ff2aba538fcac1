/**
 * Starts and stops an embedded Temporal dev server (`temporal server start-dev`), used when no
 * TEMPORAL_ADDRESS is configured, by the demo, the benchmarks and the end-to-end tests.
 *
 * Like temporal/cli.ts this module never reads process.env: the caller passes the binary path
 * (from resolveTemporalCli) and every setting explicitly.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, promises as fs, WriteStream } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';

export type SearchAttributeType = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

export interface DevServerOptions {
  /** The temporal binary, e.g. from resolveTemporalCli(). */
  cliPath: string;
  /** SQLite file: state survives restarts; omit for in-memory. Its folder is created. */
  dbFile?: string;
  /** Address the frontend (and UI) bind to. Default 127.0.0.1. */
  ip?: string;
  /** Frontend gRPC port. Default: a free port. */
  port?: number;
  /** Web UI port. Default: a free port; 0 or false = headless. */
  uiPort?: number | false;
  /** Created at start (`default` always exists too). Default 'default'. */
  namespace?: string;
  /** SQLite pragmas for the db file (default: write-ahead log, normal sync). */
  sqlitePragmas?: Record<string, string>;
  /** Registered at start (idempotent on restart with the same db file). */
  searchAttributes?: Record<string, SearchAttributeType>;
  /** Server dynamic config over DEFAULT_DYNAMIC_CONFIG, e.g. { 'frontend.enableUpdateWorkflowExecution': true }. */
  dynamicConfig?: Record<string, string | number | boolean>;
  log?: (msg: string) => void;
  /** Server output (JSON lines, warn and above) is appended here; discarded when omitted. */
  logFile?: string;
  /** How long to wait for the frontend to answer. Default 60 s. */
  startTimeoutMs?: number;
}

export const DEFAULT_SQLITE_PRAGMAS: Readonly<Record<string, string>> = { journal_mode: 'wal', synchronous: 'normal' };

/**
 * Dynamic config always set, under what the caller adds. Eager activities: an activity scheduled
 * by a workflow task goes back to the worker in the answer to that task, saving the server a
 * matching round trip per activity (on two cores the backlog benchmark could not tell the
 * difference: 51.4 versus 51.0 indicators/s). A worker with a task-queue rate limit
 * (VIRUSTOTAL_LIVEHUNT_MAX_REQUESTS_PER_SECOND) never asks for eager activities, so the
 * VirusTotal budget stays enforced by the server.
 */
export const DEFAULT_DYNAMIC_CONFIG: Readonly<Record<string, string | number | boolean>> = { 'system.enableActivityEagerExecution': true };

export interface DevServer {
  /** host:port of the frontend gRPC service. */
  address: string;
  uiUrl?: string;
  namespace: string;
  pid: number;
  /** SIGTERM, then SIGKILL if the server has not exited after a few seconds. Idempotent. */
  stop(): Promise<void>;
}

export class DevServerStartError extends Error {
  constructor(
    message: string,
    /** True when the server exited because a port was taken (worth retrying with other ports). */
    readonly portInUse = false,
  ) {
    super(message);
    this.name = 'DevServerStartError';
  }
}

const DEFAULT_START_TIMEOUT_MS = 60_000;
/** Grace period for a clean shutdown (it flushes SQLite) before SIGKILL. */
const STOP_GRACE_MS = 5_000;
/** Lines of server output kept for error messages. */
const TAIL_LINES = 20;
/** Auto-picked ports can be taken between picking and binding; retry that many times. */
const PORT_ATTEMPTS = 3;

/** Returns a TCP port that was free on `host` a moment ago. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const addr = server.address();
      server.close(() => {
        if (addr !== null && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const autoPorts = opts.port === undefined || opts.uiPort === undefined;
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort(ip));
    const uiPort = opts.uiPort === undefined ? await freePort(ip) : opts.uiPort || undefined;
    try {
      return await startOnce(opts, ip, port, uiPort);
    } catch (err) {
      if (err instanceof DevServerStartError && err.portInUse && autoPorts && attempt < PORT_ATTEMPTS) {
        opts.log?.(`Temporal dev server: port taken, retrying with other ports (${err.message.split('\n')[0]})`);
        continue;
      }
      throw err;
    }
  }
}

async function startOnce(opts: DevServerOptions, ip: string, port: number, uiPort: number | undefined): Promise<DevServer> {
  const log = opts.log ?? (() => {});
  const namespace = opts.namespace ?? 'default';
  const host = connectHost(ip);
  const address = `${host}:${port}`;
  const uiUrl = uiPort === undefined ? undefined : `http://${host}:${uiPort}`;

  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port)];
  if (uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  args.push('--namespace', namespace);
  let dbFile: string | undefined;
  if (opts.dbFile !== undefined) {
    dbFile = path.resolve(opts.dbFile);
    await fs.mkdir(path.dirname(dbFile), { recursive: true });
    args.push('--db-filename', dbFile);
    // The CLI's SQLite default is a rollback journal with a full sync on every commit, which caps
    // the whole server near 20 workflows/s on a small machine. Write-ahead logging with normal
    // sync keeps every commit across a crash of the server process (only a power loss can drop
    // the last ones), which is the durability an embedded, single-machine server needs.
    for (const [pragma, value] of Object.entries(opts.sqlitePragmas ?? DEFAULT_SQLITE_PRAGMAS))
      args.push('--sqlite-pragma', `${pragma}=${value}`);
  }
  for (const [name, type] of Object.entries(opts.searchAttributes ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid search attribute name ${JSON.stringify(name)}`);
    args.push('--search-attribute', `${name}=${type}`);
  }
  for (const [key, value] of Object.entries({ ...DEFAULT_DYNAMIC_CONFIG, ...opts.dynamicConfig })) {
    if (key === '' || key.includes('=')) throw new Error(`invalid dynamic config key ${JSON.stringify(key)}`);
    // The CLI parses the part after '=' as a JSON value, so strings need their quotes.
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  // JSON logs at warn keep the output small and machine-readable. The config file and
  // TEMPORAL_* environment variables are client settings; ignoring them keeps the server
  // defined by these flags alone, whatever the user's shell has.
  args.push('--log-format', 'json', '--log-level', 'warn', '--disable-config-file', '--disable-config-env');

  let logStream: WriteStream | undefined;
  if (opts.logFile !== undefined) {
    await fs.mkdir(path.dirname(path.resolve(opts.logFile)), { recursive: true });
    logStream = createWriteStream(opts.logFile, { flags: 'a' });
    // A log file that cannot be written must not take the server (or the parent) down.
    logStream.on('error', (err) => log(`Temporal dev server log file ${opts.logFile}: ${err.message}`));
  }

  const started = Date.now();
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
  const tail = new OutputTail(TAIL_LINES);
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      tail.push(chunk);
      logStream?.write(chunk);
    });
  }

  // 'close' rather than 'exit': it comes after the output pipes are drained, so the tail quoted
  // in an early-exit error is complete.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  let hasExited = false;
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  void exited.then(() => {
    hasExited = true;
    liveChildren.delete(child);
    logStream?.end();
  });

  const pid = child.pid;
  if (pid === undefined) {
    const err = await spawnError;
    logStream?.end();
    throw new DevServerStartError(`could not run ${opts.cliPath}: ${err.message}`);
  }
  trackChild(child);
  // The server must not keep the parent's event loop alive: a forgotten stop() should not hang
  // a test run. The exit handler and the watchdog below take care of killing it.
  child.unref();
  unrefStream(child.stdout);
  unrefStream(child.stderr);
  const watchdog = startWatchdog(pid);
  void exited.then(() => watchdog?.kill('SIGKILL'));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!hasExited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      watchdog?.kill('SIGKILL');
      log(`Temporal dev server ${address} (pid ${pid}) stopped`);
    })();
    return stopping;
  };

  log(`Starting Temporal dev server on ${address}${dbFile ? ` with ${dbFile}` : ' (in memory)'} (pid ${pid})`);
  try {
    await waitUntilReady(address, namespace, opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS, exited, () => hasExited);
  } catch (err) {
    await stop();
    const output = tail.text();
    const detail = `${err instanceof Error ? err.message : String(err)}${output ? `\nLast server output:\n${output}` : ''}`;
    throw new DevServerStartError(
      `Temporal dev server (${opts.cliPath}) did not become ready on ${address}: ${detail}`,
      tail.portInUse || /address already in use/i.test(output),
    );
  }
  log(`Temporal dev server ready on ${address}${uiUrl ? `, UI ${uiUrl}` : ''} after ${Date.now() - started} ms`);
  return { address, uiUrl, namespace, pid, stop };
}

/** Polls describeNamespace: the frontend is only usable once the namespace is registered. */
async function waitUntilReady(
  address: string,
  namespace: string,
  timeoutMs: number,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  hasExited: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no attempt made';
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((info) => (exitInfo = info));
  while (true) {
    if (hasExited()) {
      const info = exitInfo ?? (await exited);
      throw new Error(`the server exited early (${info.signal ?? `code ${info.code}`})`);
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`timed out after ${timeoutMs} ms (last error: ${lastError})`);
    // A fresh connection per attempt: a failed connect is memoized by the Connection, and a
    // long-lived channel would back off its reconnects far beyond our polling interval.
    const attemptMs = Math.min(2_000, remaining);
    const connection = Connection.lazy({ address, connectTimeout: attemptMs });
    try {
      await connection.ensureConnected();
      await connection.withDeadline(Date.now() + attemptMs, () => connection.workflowService.describeNamespace({ namespace }));
      return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    } finally {
      await connection.close();
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 200))]);
  }
}

/** For connecting: an unspecified bind address means "this machine". IPv6 needs brackets. */
function connectHost(ip: string): string {
  if (ip === '0.0.0.0' || ip === '') return '127.0.0.1';
  if (ip === '::' || ip === '[::]') return '[::1]';
  if (ip.includes(':') && !ip.startsWith('[')) return `[${ip}]`;
  return ip;
}

class OutputTail {
  private lines: string[] = [];
  private partial = '';
  /** Seen anywhere in the output: a Go panic's stack trace pushes the cause out of the tail. */
  portInUse = false;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    const text = chunk.toString('utf8');
    if (/address already in use/i.test(text)) this.portInUse = true;
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    this.lines.push(...parts.filter((l) => l.trim() !== ''));
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
  text(): string {
    return [...this.lines, this.partial]
      .filter((l) => l.trim() !== '')
      .slice(-this.max)
      .join('\n');
  }
}

function unrefStream(stream: unknown): void {
  const maybeSocket = stream as { unref?: () => void } | null;
  maybeSocket?.unref?.();
}

// Every running server, so an exiting parent can take them down with it.
const liveChildren = new Set<ChildProcess>();
let exitHandlerInstalled = false;

function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  // 'exit' handlers must be synchronous: send SIGTERM (a clean SQLite shutdown) and let the
  // watchdog escalate to SIGKILL if the server lingers.
  process.on('exit', () => {
    for (const c of liveChildren) c.kill('SIGTERM');
  });
}

/**
 * 'exit' handlers do not run when the parent is killed by a signal (SIGKILL, or SIGTERM without a
 * handler), e.g. a test runner killing a timed-out test file. A tiny shell reads a pipe from the
 * parent; the kernel closes it however the parent dies, and the shell then stops the server.
 * Not on Windows, where there is no /bin/sh.
 */
function startWatchdog(pid: number): ChildProcess | undefined {
  if (process.platform === 'win32') return undefined;
  const script =
    'read _ignored; kill -TERM "$1" 2>/dev/null || exit 0; ' +
    `for i in $(seq ${STOP_GRACE_MS / 1000}); do kill -0 "$1" 2>/dev/null || exit 0; sleep 1; done; ` +
    'kill -KILL "$1" 2>/dev/null';
  try {
    const watchdog = spawn('/bin/sh', ['-c', script, 'temporal-dev-server-watchdog', String(pid)], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    watchdog.on('error', () => {}); // best effort: the 'exit' handler still covers normal exits
    watchdog.unref();
    unrefStream(watchdog.stdin);
    return watchdog;
  } catch {
    return undefined;
  }
}
