/**
 * The real Python client libraries (pycti, vt-py) run as child processes against the emulators.
 * Their virtualenvs are made by test/support/clients/provision.sh (CI runs it); a test whose
 * virtualenv is missing is skipped with the command to run, except under CI, where it fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { processEnvironment } from '../../../config';

const ROOT = path.resolve(__dirname, '../../..');
export const CLIENT_SCRIPTS = path.join(ROOT, 'test/support/clients');

export type ClientName = 'pycti6' | 'pycti7' | 'vtpy';

/** The virtualenv's interpreter, or undefined (and the test skipped) when it is not provisioned. */
export function clientPython(t: TestContext, name: ClientName): string | undefined {
  const python = path.join(ROOT, '.venv-clients', name, 'bin', 'python');
  if (existsSync(python)) return python;
  const fix = 'run `npm run provision-clients`';
  if (processEnvironment()['CI']) throw new Error(`.venv-clients/${name} is missing and CI is set: ${fix} before the tests`);
  t.skip(`.venv-clients/${name} is not provisioned (${fix} to run this test)`);
  return undefined;
}

/** One line a client script printed: `{"kind": ..., ...}`; anything else it (or pycti) logs is kept as text. */
export type ClientRecord = Record<string, any> & { kind: string };

export class ClientProcess {
  readonly records: ClientRecord[] = [];
  readonly log: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private readonly listeners = new Set<() => void>();

  constructor(python: string, script: string, env: Record<string, string>) {
    const base = processEnvironment();
    const inherited = Object.fromEntries(['PATH', 'HOME', 'TMPDIR'].filter((name) => base[name]).map((name) => [name, base[name]!]));
    this.child = spawn(python, [path.join(CLIENT_SCRIPTS, script)], {
      cwd: ROOT,
      env: { ...inherited, PYTHONUNBUFFERED: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.take(line);
    });
    this.child.stderr!.on('data', (chunk: Buffer) =>
      this.log.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((l) => l.trim()),
      ),
    );
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        if (pending) this.take(pending);
        this.notify();
        resolve(code);
      }),
    );
  }

  of(kind: string): ClientRecord[] {
    return this.records.filter((r) => r.kind === kind);
  }

  /** Resolves once `predicate` holds; rejects with everything the client said if it exits or times out first. */
  async waitFor(what: string, predicate: () => boolean, timeoutMs = 60_000): Promise<void> {
    let exited = false;
    void this.exited.then(() => {
      exited = true;
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`timed out waiting for ${what}\n${this.transcript()}`)), timeoutMs);
      const check = () => {
        if (predicate()) done();
        else if (exited || this.child.exitCode !== null) done(new Error(`the client exited before ${what}\n${this.transcript()}`));
      };
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        if (error) reject(error);
        else resolve();
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Exit code, failing with the transcript if it is not 0. */
  async finished(timeoutMs = 60_000): Promise<void> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`the client exited with ${code}\n${this.transcript()}`);
  }

  kill(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    return this.exited;
  }

  transcript(): string {
    return [...this.records.map((r) => JSON.stringify(r)), ...this.log.slice(-40)].join('\n');
  }

  private take(line: string): void {
    const text = line.trim();
    if (!text) return;
    if (text.startsWith('{"kind"')) {
      try {
        this.records.push(JSON.parse(text) as ClientRecord);
        this.notify();
        return;
      } catch {
        // not one of ours after all
      }
    }
    this.log.push(text);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
