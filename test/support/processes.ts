/**
 * The connector's roles run as real child processes, exactly as `npm run worker` and
 * `npm run starter` run them, configured only through environment variables.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { processEnvironment } from '../../config';

const ROOT = path.resolve(__dirname, '../..');
const ENTRY = { worker: 'worker/main.ts', starter: 'starter/main.ts', app: 'app/main.ts' } as const;

export class RoleProcess {
  readonly output: string[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly role: keyof typeof ENTRY,
    readonly child: ChildProcess,
  ) {
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) this.output.push(line);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(role: keyof typeof ENTRY, env: Record<string, string>): RoleProcess {
    const base = processEnvironment();
    // Only what the connector documents, plus what Node itself needs to run.
    const inherited = Object.fromEntries(
      ['PATH', 'HOME', 'TMPDIR', 'TEMPORAL_CLI_PATH'].filter((name) => base[name]).map((name) => [name, base[name]!]),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY[role]], {
      cwd: ROOT,
      env: { ...inherited, CONNECTOR_CONFIG_FILE: path.join(ROOT, 'test/support/empty-config.yml'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new RoleProcess(role, child);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }

  exit(): Promise<number | null> {
    return this.exited;
  }

  log(): string {
    return this.output.join('\n');
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
