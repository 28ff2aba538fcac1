/**
 * The connector exactly as `npm start` runs it (app/main.ts: embedded Temporal dev server, worker
 * and starter in one process), as a child process configured only through its environment.
 * Its JSON log goes to a file so that the demo's own output stays readable; warnings, errors and
 * the slow first-run step (provisioning the Temporal CLI) are echoed.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './options';

/** How app/main.ts announces the embedded server's Web UI on stdout. */
const WEB_UI_LINE = /^Temporal Web UI: (\S+?)\/namespaces\/[^/\s]+\/workflows\s*$/;
/** Start-up messages worth showing although they are only `info`: they explain a wait. */
const NOTABLE_INFO = /provision|building temporal cli|starting an embedded temporal/i;
const TAIL_LINES = 40;
/** app/main.ts drains the worker and saves the stream position on SIGTERM; past this it is killed. */
const STOP_GRACE_MS = 30_000;

export interface ConnectorProcess {
  pid: number;
  /** Base URL of the Temporal Web UI, e.g. http://127.0.0.1:8233; rejects if the child exits first. */
  webUiUrl: Promise<string>;
  /** Exit code (null when killed by a signal); never rejects. */
  exited: Promise<number | null>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after a grace period. Idempotent. */
  stop(): Promise<number | null>;
  /** The last lines the child wrote, for error messages. */
  tail(): string;
}

export function startConnector(options: {
  env: Record<string, string>;
  logFile: string;
  notice: (line: string) => void;
}): ConnectorProcess {
  const log = createWriteStream(options.logFile, { flags: 'a' });
  log.on('error', () => {}); // a log file that cannot be written must not end the demo
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('app', 'main.ts')], {
    cwd: REPO_ROOT,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  const tail: string[] = [];
  let resolveUi!: (url: string) => void;
  let rejectUi!: (error: Error) => void;
  const webUiUrl = new Promise<string>((resolve, reject) => {
    resolveUi = resolve;
    rejectUi = reject;
  });
  webUiUrl.catch(() => {}); // callers that never ask must not see an unhandled rejection

  const onLine = (line: string) => {
    if (!line.trim()) return;
    log.write(`${line}\n`);
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    const ui = WEB_UI_LINE.exec(line);
    if (ui?.[1]) return resolveUi(ui[1]);
    const entry = parseLogLine(line);
    if (!entry) return options.notice(line); // not a log entry (a crash message, say): always shown
    if (entry.level === 'WARNING' || entry.level === 'ERROR' || NOTABLE_INFO.test(entry.message)) {
      options.notice(`${entry.level.toLowerCase()}: ${entry.message}${entry.error ? ` (${entry.error})` : ''}`);
    }
  };
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(onLine);
    });
    stream.on('end', () => onLine(partial));
  }

  let exitedFlag = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      onLine(`could not start the connector: ${error.message}`);
      exitedFlag = true;
      resolve(1);
    });
    // 'close' comes after the output pipes are drained, so tail() is complete by then.
    child.once('close', (code) => {
      exitedFlag = true;
      log.end();
      resolve(code);
    });
  });
  void exited.then((code) => rejectUi(new Error(`the connector exited (code ${code}) before its Temporal Web UI was up`)));

  let stopping: Promise<number | null> | undefined;
  return {
    pid: child.pid ?? -1,
    webUiUrl,
    exited,
    hasExited: () => exitedFlag,
    stop() {
      stopping ??= (async () => {
        if (exitedFlag) return exited;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        const code = await exited;
        clearTimeout(timer);
        return code;
      })();
      return stopping;
    },
    tail: () => tail.join('\n'),
  };
}

/** The connector's log lines (common/logger.ts: pycti's shape, the SDK's entries included). */
function parseLogLine(line: string): { level: string; message: string; error?: string } | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const entry = JSON.parse(line) as { level?: unknown; message?: unknown; attributes?: { error?: unknown } };
    if (typeof entry.level !== 'string' || typeof entry.message !== 'string') return undefined;
    const error = entry.attributes?.error;
    return { level: entry.level, message: entry.message, ...(typeof error === 'string' ? { error } : {}) };
  } catch {
    return undefined;
  }
}
