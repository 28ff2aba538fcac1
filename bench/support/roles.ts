/**
 * The connector's roles as users run them (`npm run worker`, `npm run starter`): separate Node
 * processes configured only by environment variables. Their output goes straight to a log file
 * (no pipe through this process, so a busy benchmark harness never slows their logging down).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { processEnvironment } from '../../config';

export const REPO_ROOT = path.resolve(__dirname, '../..');

/** Entry modules, relative to the repository root. */
export const ROLE_ENTRY = { worker: 'worker/main.ts', starter: 'starter/main.ts' } as const;

/** Variables a child needs to run Node at all; everything else comes from the benchmark. */
const INHERITED = ['PATH', 'HOME', 'TMPDIR', 'LANG'];

/** Every role still running, so that a benchmark interrupted by Ctrl-C leaves no connector behind. */
const running = new Set<ChildProcess>();
let handlersInstalled = false;

function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const each of running) each.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // Exiting runs the 'exit' handlers: these roles, and temporal/dev-server.ts's dev servers.
    process.once(signal, () => process.exit(130));
  }
}

export class ChildRole {
  private readonly exited: Promise<number | null>;
  private hasExited = false;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        this.hasExited = true;
        resolve(code);
      }),
    );
    track(child);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /**
   * Runs `node --import tsx <entry> ...args` from the repository root, as the npm scripts do.
   * `env` is the whole configuration: no config.yml is read (CONNECTOR_CONFIG_FILE=/dev/null
   * would be read as YAML, so an empty file in the run directory is used).
   */
  static start(name: string, entry: string, env: Record<string, string>, logFile: string, args: string[] = [], ipc = false): ChildRole {
    const base = processEnvironment();
    const inherited = Object.fromEntries(INHERITED.filter((key) => base[key]).map((key) => [key, base[key]!]));
    const fd = openSync(logFile, 'a');
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
        cwd: REPO_ROOT,
        env: { ...inherited, ...env },
        stdio: ipc ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd],
      });
      return new ChildRole(name, child, logFile);
    } finally {
      closeSync(fd);
    }
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  tail(lines = 20): string {
    return this.log().split('\n').filter(Boolean).slice(-lines).join('\n');
  }

  /** Resolves once the log contains `pattern`; rejects when the process exits first or on timeout. */
  async waitForLog(pattern: RegExp, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (pattern.test(this.log())) return;
      if (this.hasExited) throw new Error(`${this.name} exited before logging ${pattern}:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not log ${pattern} within ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  running(): boolean {
    return !this.hasExited;
  }

  /** SIGTERM (the roles drain and save their position), SIGKILL after the grace period. */
  async stop(graceMs = 15_000): Promise<number | null> {
    if (this.hasExited) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): Promise<number | null> {
    if (!this.hasExited) this.child.kill('SIGKILL');
    return this.exited;
  }
}
