/**
 * The image as the Dockerfile builds it, without a Docker engine: the build stage and the runtime
 * stage are laid out in a temporary folder by following the Dockerfile's own instructions (its
 * COPYs, its `npm ci --omit=dev`, its `npm run build`, its cleanup), then the image's own command
 * line (CMD) runs the worker and the compose file's command runs the starter, from the runtime
 * stage's WORKDIR, with its ENV, as its non-root USER, against the emulators and a real Temporal
 * dev server. A ruleset must appear in VirusTotal. So the test breaks when the Dockerfile, the
 * compose file and the code drift apart (a file the image lacks, a dev dependency the compiled
 * code needs, a CMD pointing at nothing, a bundle the worker cannot load).
 *
 * Where the emulation differs from `docker build`, on purpose:
 * - the build stage's `npm ci` is this checkout's node_modules (same lockfile, dev dependencies
 *   included), linked rather than installed again;
 * - the runtime stage's `npm ci --omit=dev` runs with `--offline` (from npm's cache, filled by
 *   this checkout's own `npm ci`): tests download nothing;
 * - `npm cache clean` is skipped (it would empty this machine's npm cache);
 * - `node` in the command line is the Node running this test (CI runs the suite on each
 *   supported Node; the image's own Node is the one of its base image).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { processEnvironment } from '../../config';
import { startOpenCtiEmulator, type OpenCtiEmulator } from '../../emulators/opencti';
import { startVirusTotalEmulator, type VirusTotalEmulator } from '../../emulators/virustotal';
import {
  cmdOf,
  copiesOf,
  dockerfileStages,
  entrypointOf,
  envOf,
  runStepsOf,
  userOf,
  workdirOf,
  type Copy,
  type Stage,
} from '../support/dockerfile';
import { waitFor } from '../support/processes';
import { useTestTemporal } from '../support/temporal';
import { rule } from '../support/yara';

const ROOT = path.resolve(__dirname, '../..');
const STARTER_SERVICE = 'connector-virustotal-livehunt-starter';
const WORKER_SERVICE = 'connector-virustotal-livehunt-worker';
/** uid/gid of the `node` user of the official node images, when this machine has no such user. */
const OFFICIAL_NODE_IDS = { uid: 1000, gid: 1000 };

const temporal = useTestTemporal();
const hostEnv = processEnvironment();
let scratch: string;
let image: { workdir: string; env: Record<string, string>; user: string; cmd: string[] };
let opencti: OpenCtiEmulator;
let vt: VirusTotalEmulator;
const processes: Array<{ child: ChildProcess; output: string[] }> = [];

// ---------------------------------------------------------------------------------------------
// Laying out the stages

/** Where an image path of a stage lives in the scratch folder. */
const inStage = (stageRoot: string, workdir: string, imagePath: string) => path.join(stageRoot, path.posix.resolve(workdir, imagePath));

function copyInto(
  stageRoot: string,
  workdir: string,
  copies: Copy[],
  sourceRootFor: (from: string | undefined) => { root: string; workdir: string },
) {
  for (const copy of copies) {
    const { root, workdir: sourceWorkdir } = sourceRootFor(copy.from);
    const destination = inStage(stageRoot, workdir, copy.destination);
    const intoFolder = copy.destination.endsWith('/') || copy.sources.length > 1;
    for (const source of copy.sources) {
      // From the build context, paths are relative to the repository; from a stage, image paths.
      const from = copy.from === undefined ? path.join(root, source) : inStage(root, sourceWorkdir, source);
      assert.ok(existsSync(from), `Dockerfile: COPY ${copy.from ? `--from=${copy.from} ` : ''}${source}: no such file or folder`);
      const to = intoFolder && !statSync(from).isDirectory() ? path.join(destination, path.basename(source)) : destination;
      mkdirSync(path.dirname(to), { recursive: true });
      cpSync(from, to, { recursive: true, filter: (file) => path.basename(file) !== 'node_modules' });
    }
  }
}

function run(command: string, args: string[], cwd: string, env: Record<string, string>) {
  try {
    execFileSync(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 5 * 60_000 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${String(stdout ?? '')}${String(stderr ?? '')}`, { cause: error });
  }
}

/** Runs the RUN steps of a stage as the test can reproduce them; an unknown step fails the test. */
function runSteps(stage: Stage, workdir: string, role: 'build' | 'runtime') {
  const env = { PATH: hostEnv.PATH ?? '', HOME: hostEnv.HOME ?? '/root', ...envOf(stage) };
  for (const steps of runStepsOf(stage)) {
    for (const step of steps) {
      const words = step.split(/\s+/);
      if (words[0] === 'npm' && words[1] === 'ci') {
        // npm looks for package.json in the parent folders too: never let it install anywhere else.
        assert.ok(existsSync(path.join(workdir, 'package.json')), `${role} stage: npm ci before package.json is in ${workdir}`);
        if (role === 'build') {
          assert.ok(!words.includes('--omit=dev'), 'the build stage installs the development dependencies (tsc, tsx)');
          symlinkSync(path.join(ROOT, 'node_modules'), path.join(workdir, 'node_modules'), 'dir');
        } else {
          run('npm', [...words.slice(1), '--offline', '--no-audit', '--no-fund'], workdir, env);
        }
      } else if (words[0] === 'npm' && words[1] === 'run') {
        run('npm', words.slice(1), workdir, env);
      } else if (words[0] === 'npm' && words[1] === 'cache') {
        // Skipped: it would clean this machine's npm cache, and it changes nothing in node_modules.
      } else if (
        words[0] === 'rm' &&
        words.slice(1).every((word) => word.startsWith('-') || (word.startsWith('node_modules/') && !word.includes('..')))
      ) {
        run('sh', ['-c', step], workdir, env);
      } else {
        assert.fail(
          `Dockerfile: the test does not know how to reproduce the ${role} stage's RUN step "${step}"; teach it (test/e2e/runtime-image.test.ts)`,
        );
      }
    }
  }
}

function imageIds(user: string): { uid: number; gid: number } {
  if (user === 'root' || user === '0') assert.fail('the image must not run as root');
  if (/^\d+$/.test(user)) return { uid: Number(user), gid: Number(user) };
  const entry = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((line) => line.startsWith(`${user}:`));
  if (entry) {
    const [, , uid, gid] = entry.split(':');
    return { uid: Number(uid), gid: Number(gid) };
  }
  assert.equal(user, 'node', `USER ${user}: unknown on this machine`);
  return OFFICIAL_NODE_IDS;
}

function composeCommand(service: string): string[] {
  const compose = parseYaml(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { command?: string[] | string }>;
  };
  const command = compose.services[service]?.command;
  assert.ok(Array.isArray(command), `docker-compose.yml: ${service} has a command in the exec (list) form`);
  return command;
}

function startRole(command: string[], env: Record<string, string>) {
  const [program, ...args] = command;
  assert.equal(program, 'node', `the command runs node itself (no shell or npm in between): ${command.join(' ')}`);
  // Only root can switch users; a test already running as someone else runs them as itself.
  const ids = process.getuid?.() === 0 ? imageIds(image.user) : undefined;
  const child = spawn(process.execPath, args, {
    cwd: image.workdir,
    env: { PATH: path.dirname(process.execPath), HOME: path.join(scratch, 'home'), ...image.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...ids,
  });
  const output: string[] = [];
  const collect = (chunk: Buffer) =>
    output.push(
      ...chunk
        .toString()
        .split('\n')
        .filter((line) => line.trim()),
    );
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  processes.push({ child, output });
  return { child, output };
}

/** The real and effective uids of a running process, from /proc. */
function uidsOf(pid: number): number[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('Uid:'))!;
  return line.split(/\s+/).slice(1, 3).map(Number);
}

before(async () => {
  const stages = dockerfileStages();
  const final = stages.at(-1)!;
  scratch = mkdtempSync(path.join(tmpdir(), 'runtime-image-'));
  chmodSync(scratch, 0o755); // the image's user must be able to read what root laid out

  // Every stage the final one copies from, built first; then the final stage.
  const built = new Map<string, { root: string; workdir: string }>();
  for (const from of new Set(
    copiesOf(final)
      .map((copy) => copy.from)
      .filter((from) => from !== undefined),
  )) {
    const stage = stages.find((candidate) => candidate.name === from);
    assert.ok(stage, `Dockerfile: COPY --from=${from} names no earlier stage`);
    const root = path.join(scratch, `stage-${from}`);
    const workdir = inStage(root, workdirOf(stage), '.');
    mkdirSync(workdir, { recursive: true });
    copyInto(root, workdirOf(stage), copiesOf(stage), () => ({ root: ROOT, workdir: '/' }));
    runSteps(stage, workdir, 'build');
    built.set(from, { root, workdir: workdirOf(stage) });
  }
  const root = path.join(scratch, 'image');
  const workdir = inStage(root, workdirOf(final), '.');
  mkdirSync(workdir, { recursive: true });
  // The package files from the build context, the install, then the build stage's output: the
  // order of the Dockerfile (checked in test/unit/deployment-files.test.ts).
  const copies = copiesOf(final);
  copyInto(
    root,
    workdirOf(final),
    copies.filter((copy) => copy.from === undefined),
    () => ({ root: ROOT, workdir: '/' }),
  );
  runSteps(final, workdir, 'runtime');
  copyInto(
    root,
    workdirOf(final),
    copies.filter((copy) => copy.from !== undefined),
    (from) => built.get(from!)!,
  );

  const entrypoint = entrypointOf(final);
  assert.equal(entrypoint, undefined, 'no ENTRYPOINT: the command alone picks the role');
  image = { workdir, env: envOf(final), user: userOf(final), cmd: cmdOf(final) };
  mkdirSync(path.join(scratch, 'home'));
  if (process.getuid?.() === 0) {
    const { uid, gid } = imageIds(image.user);
    chownSync(path.join(scratch, 'home'), uid, gid);
  }
  [opencti, vt] = await Promise.all([startOpenCtiEmulator({ heartbeatMs: 1000 }), startVirusTotalEmulator()]);
});

after(async () => {
  for (const { child } of processes) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(
    processes.map(({ child }) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : Promise.resolve())),
  );
  await Promise.all([opencti?.close(), vt?.close()]);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('the runtime stage holds production dependencies only, the compiled roles and the workflow bundle, and no sources', () => {
  const modules = path.join(image.workdir, 'node_modules');
  for (const devOnly of ['typescript', 'tsx', 'esbuild'])
    assert.ok(!existsSync(path.join(modules, devOnly)), `node_modules/${devOnly} is a development dependency`);
  for (const needed of ['@temporalio/worker', '@temporalio/client', 'zod', 'yaml', 'eventsource'])
    assert.ok(existsSync(path.join(modules, needed)), `node_modules/${needed}`);
  for (const file of ['dist/worker/main.js', 'dist/starter/main.js', 'dist/app/main.js', 'dist/workflow-bundle.js'])
    assert.ok(existsSync(path.join(image.workdir, file)), file);
  const topLevel = readdirSync(image.workdir).sort();
  assert.deepEqual(
    topLevel,
    ['dist', 'node_modules', 'package-lock.json', 'package.json'],
    'nothing else in the image (no TypeScript sources, no tests)',
  );
  const typescript = readdirSync(path.join(image.workdir, 'dist'), { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.ts'));
  assert.deepEqual(typescript, []);
});

test("the image's commands run the worker and the starter as a non-root user, and a ruleset appears in VirusTotal", async () => {
  assert.deepEqual(composeCommand(WORKER_SERVICE), image.cmd, 'the compose worker runs the image CMD');
  const env = {
    OPENCTI_URL: opencti.url,
    OPENCTI_TOKEN: opencti.token,
    CONNECTOR_ID: randomUUID(),
    CONNECTOR_LIVE_STREAM_ID: opencti.streamId,
    VIRUSTOTAL_LIVEHUNT_TOKEN: 'vt-test-key',
    VIRUSTOTAL_LIVEHUNT_API_URL: vt.url,
    VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS: 'soc@example.org',
    TEMPORAL_ADDRESS: temporal().address,
    TEMPORAL_TASK_QUEUE: `runtime-image-${randomUUID().slice(0, 8)}`,
  };
  const worker = startRole(image.cmd, env);
  const starter = startRole(composeCommand(STARTER_SERVICE), env);
  const logs = () => `worker:\n${worker.output.join('\n')}\nstarter:\n${starter.output.join('\n')}`;

  await waitFor('the starter to connect to the stream', () => opencti.connections() > 0, 60_000).catch((error: Error) =>
    assert.fail(`${error.message}\n${logs()}`),
  );
  const { internalId } = opencti.createIndicator({ name: 'Runtime_Image_Rule', pattern: rule('Runtime_Image_Rule'), detection: true });
  const ruleset = await waitFor(
    'the ruleset in VirusTotal',
    () => vt.rulesets().find((candidate) => candidate.name === 'Runtime_Image_Rule'),
    90_000,
  ).catch((error: Error) => assert.fail(`${error.message}\n${logs()}`));
  assert.equal(ruleset.rules, rule('Runtime_Image_Rule'));
  assert.ok(internalId);

  if (process.getuid?.() === 0) {
    const { uid } = imageIds(image.user);
    for (const role of [worker, starter]) assert.deepEqual(uidsOf(role.child.pid!), [uid, uid], 'runs as the image USER, not root');
  } else {
    for (const role of [worker, starter]) assert.notEqual(uidsOf(role.child.pid!)[0], 0);
  }
  assert.ok(
    worker.output.some(
      (line) => line.includes('workflow code: prebuilt bundle') && line.includes(path.join(image.workdir, 'dist/workflow-bundle.js')),
    ),
    `the worker loads the bundle built by the build stage instead of bundling at start-up:\n${logs()}`,
  );
});
