/**
 * The deployment files (Dockerfile, docker-compose.yml, config.yml.sample) checked against the
 * code they deploy: what a reader would otherwise only verify by eye.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isScalar, parse as parseYaml, parseDocument, visit } from 'yaml';
import { ConfigError, flattenYaml, loadConfig, type RawSettings } from '../../config/load';
import { commonSchema, connectorSchema, openCtiSchema, temporalSchema, virusTotalSchema } from '../../config/schema';
import { resolveTemporalCli, temporalCliVersion } from '../../temporal/cli';
import { processEnvironment } from '../../config';
import {
  cmdOf,
  copiesOf,
  dockerfileStages,
  envOf,
  finalStage,
  instructionsOf,
  runStepsOf,
  userOf,
  type Stage,
} from '../support/dockerfile';

const ROOT = path.resolve(__dirname, '../..');
const PLACEHOLDER = 'ChangeMe';
const A_UUID = '60c69785-82d4-4fea-9c49-cc44b7324055';

const WORKER = 'connector-virustotal-livehunt-worker';
const STARTER = 'connector-virustotal-livehunt-starter';

// ---------------------------------------------------------------------------------------------
// The configuration schema: which variables exist, which ones each role reads, which are required

const ROLE_SCHEMAS = {
  worker: [commonSchema, temporalSchema, virusTotalSchema],
  starter: [commonSchema, temporalSchema, openCtiSchema, connectorSchema],
} as const;
const ALL_SCHEMAS = [commonSchema, temporalSchema, openCtiSchema, connectorSchema, virusTotalSchema];

const keysOf = (schemas: readonly { shape: object }[]) => new Set(schemas.flatMap((schema) => Object.keys(schema.shape)));
const KNOWN = keysOf(ALL_SCHEMAS);

/** A variable is mandatory when its schema rejects it being absent. */
function mandatoryKeys(schemas: readonly { shape: Record<string, { safeParse(value: unknown): { success: boolean } }> }[]): string[] {
  return schemas.flatMap((schema) =>
    Object.entries(schema.shape)
      .filter(([, type]) => !type.safeParse(undefined).success)
      .map(([key]) => key),
  );
}

/** Variables only `npm start`'s embedded Temporal dev server uses; meaningless in a container. */
const EMBEDDED_SERVER_ONLY = ['TEMPORAL_CLI_PATH', 'TEMPORAL_DEV_SERVER_PORT', 'TEMPORAL_DEV_SERVER_UI_PORT', 'CONNECTOR_DATA_DIR'];

/** Replaces the ChangeMe placeholders with values the schema accepts. */
function withPlaceholdersReplaced(env: RawSettings): RawSettings {
  return Object.fromEntries(
    Object.entries(env).map(([key, value]) => [
      key,
      value === PLACEHOLDER ? (key === 'CONNECTOR_ID' ? A_UUID : `replaced-${key.toLowerCase()}`) : value,
    ]),
  );
}

function problemsOf(load: () => unknown): string[] {
  try {
    load();
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems;
  }
}

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

type Service = {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: string[] | Record<string, string | number | boolean | null>;
  depends_on?: string[] | Record<string, { condition?: string }>;
  deploy?: { replicas?: number };
  scale?: number;
  restart?: string;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  ports?: Array<string | { target?: number; published?: string | number }>;
};

function readCompose(): { services: Record<string, Service> } {
  const compose = parseYaml(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as { services?: Record<string, Service> };
  assert.ok(compose && typeof compose.services === 'object', 'docker-compose.yml has a services map');
  return compose as { services: Record<string, Service> };
}

function service(name: string): Service {
  const found = readCompose().services[name];
  assert.ok(found, `docker-compose.yml defines the ${name} service`);
  return found;
}

/** The environment as the container gets it, from either the list or the map form. */
function environmentOf(svc: Service): RawSettings {
  const env = svc.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const at = entry.indexOf('=');
        return at === -1 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === null ? '' : String(value)]));
}

function commandOf(svc: Service): string[] {
  if (svc.command === undefined) return cmdOf(finalStage());
  assert.ok(Array.isArray(svc.command), 'a service command in the exec (list) form: no shell between Docker and node');
  return svc.command;
}

function dependsOn(svc: Service): Record<string, string> {
  const deps = svc.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, spec]) => [name, spec?.condition ?? 'service_started']));
}

/** `host:container` port mappings, with the host address when one is given. */
function publishedPorts(svc: Service): Array<{ address?: string; host: string; container: string }> {
  return (svc.ports ?? []).map((entry) => {
    assert.equal(typeof entry, 'string', 'ports in the short string form');
    const parts = (entry as string).split(':');
    assert.ok(parts.length === 3 || parts.length === 2, `port mapping ${String(entry)}`);
    return parts.length === 3 ? { address: parts[0], host: parts[1]!, container: parts[2]! } : { host: parts[0]!, container: parts[1]! };
  });
}

/** The image tag's version (`temporalio/server:1.32.0` -> `1.32.0`). */
const tagOf = (image: string | undefined) => /:([\w.-]+)$/.exec(image ?? '')?.[1];

// ---------------------------------------------------------------------------------------------
// Dockerfile (parsed by test/support/dockerfile.ts, which the runtime-image test shares)

/** The stage that builds what the final stage copies with --from. */
function buildStage(): Stage {
  const froms = copiesOf(finalStage())
    .map((copy) => copy.from)
    .filter((from) => from !== undefined);
  assert.equal(new Set(froms).size, 1, 'the runtime stage copies from one build stage');
  const stage = dockerfileStages().find((candidate) => candidate.name === froms[0]);
  assert.ok(stage, `COPY --from=${froms[0]} names an earlier stage`);
  return stage;
}

/** The compiled entry point (`dist/worker/main.js`) of a TypeScript source (`worker/main.ts`). */
function sourceOfCompiled(file: string): string {
  const match = /^dist\/(.+)\.js$/.exec(file);
  assert.ok(match, `${file} is a compiled file under dist/`);
  return `${match[1]}.ts`;
}

/** Every file an entry point reaches through relative imports, as paths relative to ROOT. */
function reachableFiles(entry: string): Set<string> {
  const seen = new Set<string>();
  const pending = [path.join(ROOT, entry)];
  const importPattern = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire(?:\.resolve)?\s*\(\s*)['"](\.{1,2}\/[^'"]*)['"]/g;
  while (pending.length > 0) {
    const file = pending.pop()!;
    const relative = path.relative(ROOT, file);
    if (seen.has(relative)) continue;
    seen.add(relative);
    for (const match of readFileSync(file, 'utf8').matchAll(importPattern)) {
      const target = path.resolve(path.dirname(file), match[1]!);
      const resolved = [target, `${target}.ts`, path.join(target, 'index.ts')].find(
        (candidate) => existsSync(candidate) && statSync(candidate).isFile(),
      );
      assert.ok(resolved, `${relative} imports ${match[1]}, which resolves to no file`);
      pending.push(resolved);
    }
  }
  return seen;
}

// ---------------------------------------------------------------------------------------------
// config.yml.sample

function readSample(): string {
  return readFileSync(path.join(ROOT, 'config.yml.sample'), 'utf8');
}

/** The sample with each ChangeMe replaced by a valid value, comments and layout kept. */
function sampleWithPlaceholdersReplaced(): string {
  const document = parseDocument(readSample());
  visit(document, {
    Pair(_, pair) {
      if (isScalar(pair.key) && isScalar(pair.value) && pair.value.value === PLACEHOLDER) {
        pair.value.value = pair.key.value === 'id' ? A_UUID : `replaced-${String(pair.key.value)}`;
      }
    },
  });
  return String(document);
}

function withTempFile<T>(content: string, use: (file: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'deployment-files-'));
  try {
    const file = path.join(dir, 'config.yml');
    writeFileSync(file, content);
    return use(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// =============================================================================================
// docker-compose.yml

test('compose: the worker and the starter run one image, built from the Dockerfile', () => {
  const images = new Set<string | undefined>();
  for (const name of [WORKER, STARTER]) {
    const svc = service(name);
    assert.ok(svc.build !== undefined, `${name} has a build section (not only a prebuilt image)`);
    const build = typeof svc.build === 'string' ? { context: svc.build } : svc.build!;
    const dockerfile = path.resolve(ROOT, build.context ?? '.', build.dockerfile ?? 'Dockerfile');
    assert.equal(dockerfile, path.join(ROOT, 'Dockerfile'), `${name} builds from this repository's Dockerfile`);
    assert.ok(existsSync(dockerfile), 'the Dockerfile exists');
    assert.equal(svc.restart, 'always', `${name} is restarted when it exits`);
    assert.ok(svc.image, `${name} names its image, so both services share it`);
    images.add(svc.image);
  }
  assert.equal(images.size, 1, 'one image for both roles');
  assert.deepEqual(service(WORKER).build, service(STARTER).build, 'the same build, so the second is the same image');
});

test("compose: the worker runs the image's CMD, the starter the compiled starter, with exactly one replica", () => {
  const worker = service(WORKER);
  const starter = service(STARTER);
  assert.deepEqual(commandOf(worker), ['node', 'dist/worker/main.js']);
  assert.deepEqual(commandOf(worker), cmdOf(finalStage()), 'the worker is the image default');
  assert.deepEqual(commandOf(starter), ['node', 'dist/starter/main.js']);
  // Each command runs the compiled form of the role's entry point, which npm run <role> runs as TypeScript.
  const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  for (const [role, svc] of [
    ['worker', worker],
    ['starter', starter],
  ] as const) {
    const source = sourceOfCompiled(commandOf(svc)[1]!);
    assert.equal(scripts[role], `tsx ${source}`, `npm run ${role} runs the source of what the container runs`);
  }
  assert.equal(starter.deploy?.replicas, 1, 'the starter declares deploy.replicas: 1 (one stream position per CONNECTOR_ID)');
  assert.equal(starter.scale ?? 1, 1, 'the starter is not scaled');
  assert.ok((worker.deploy?.replicas ?? 1) >= 1, 'the worker has at least one replica');
});

test('compose: every connector variable set is one the configuration schema knows, and one that role reads', () => {
  for (const [name, role] of [
    [WORKER, 'worker'],
    [STARTER, 'starter'],
  ] as const) {
    const keys = Object.keys(environmentOf(service(name)));
    assert.deepEqual(
      keys.filter((key) => !KNOWN.has(key)),
      [],
      `${name} sets variables the connector does not know (typos?)`,
    );
    const read = keysOf(ROLE_SCHEMAS[role]);
    assert.deepEqual(
      keys.filter((key) => !read.has(key)),
      [],
      `${name} sets variables its role (${role}) never reads`,
    );
  }
});

test('compose: every variable a container can use is listed, on the worker or the starter', () => {
  const listed = new Set([...Object.keys(environmentOf(service(WORKER))), ...Object.keys(environmentOf(service(STARTER)))]);
  const missing = [...KNOWN].filter((key) => !listed.has(key) && !EMBEDDED_SERVER_ONLY.includes(key));
  assert.deepEqual(missing, []);
});

test('compose: the mandatory variables are present, and the services load once the placeholders are replaced', () => {
  for (const [name, role] of [
    [WORKER, 'worker'],
    [STARTER, 'starter'],
  ] as const) {
    const env = environmentOf(service(name));
    // TEMPORAL_ADDRESS is optional in the schema (npm start) but required by both container roles.
    const mandatory = ['TEMPORAL_ADDRESS', ...mandatoryKeys(ROLE_SCHEMAS[role])];
    assert.deepEqual(
      mandatory.filter((key) => !env[key]),
      [],
      `${name} sets every mandatory variable`,
    );
    const config = loadConfig(role as 'worker', { env: withPlaceholdersReplaced(env), configFile: false });
    assert.ok(config.temporal.address, `${name} has a Temporal address`);
  }
  // The list above is derived from the schema; spell out the ones a reader expects.
  const worker = environmentOf(service(WORKER));
  const starter = environmentOf(service(STARTER));
  for (const key of ['VIRUSTOTAL_LIVEHUNT_TOKEN', 'VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS'])
    assert.ok(worker[key], `the worker sets ${key}`);
  for (const key of ['OPENCTI_URL', 'OPENCTI_TOKEN', 'CONNECTOR_ID', 'CONNECTOR_LIVE_STREAM_ID'])
    assert.ok(starter[key], `the starter sets ${key}`);
});

test('compose: secrets are ChangeMe placeholders the connector refuses, and each secret is on one service only', () => {
  const worker = environmentOf(service(WORKER));
  const starter = environmentOf(service(STARTER));
  assert.equal(worker.VIRUSTOTAL_LIVEHUNT_TOKEN, PLACEHOLDER);
  assert.equal(starter.OPENCTI_TOKEN, PLACEHOLDER);
  assert.equal(starter.CONNECTOR_ID, PLACEHOLDER);
  assert.equal(starter.CONNECTOR_LIVE_STREAM_ID, PLACEHOLDER);
  assert.equal(worker.VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS, '["user1", "user2"]', 'the seed style for lists');
  const workerProblems = problemsOf(() => loadConfig('worker', { env: worker, configFile: false }));
  assert.ok(
    workerProblems.some((problem) => problem.startsWith('VIRUSTOTAL_LIVEHUNT_TOKEN:')),
    workerProblems.join('\n'),
  );
  const starterProblems = problemsOf(() => loadConfig('starter', { env: starter, configFile: false }));
  for (const key of ['OPENCTI_TOKEN', 'CONNECTOR_ID', 'CONNECTOR_LIVE_STREAM_ID']) {
    assert.ok(
      starterProblems.some((problem) => problem.startsWith(`${key}:`)),
      `${key} placeholder refused:\n${starterProblems.join('\n')}`,
    );
  }
  assert.equal(worker.OPENCTI_TOKEN, undefined, 'the worker never holds the OpenCTI token');
  assert.equal(starter.VIRUSTOTAL_LIVEHUNT_TOKEN, undefined, 'the starter never holds the VirusTotal key');
});

test('compose: TEMPORAL_ADDRESS points at the temporal service; both roles wait for it and for the namespace', () => {
  const { services } = readCompose();
  const worker = environmentOf(service(WORKER));
  const starter = environmentOf(service(STARTER));
  for (const key of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE']) {
    assert.ok(worker[key], `the worker sets ${key}`);
    assert.equal(starter[key], worker[key], `worker and starter agree on ${key}`);
  }
  const [host, port, ...rest] = worker.TEMPORAL_ADDRESS!.split(':');
  assert.equal(rest.length, 0, 'TEMPORAL_ADDRESS is host:port');
  assert.equal(port, '7233', 'the Temporal frontend gRPC port');
  const temporal = services[host!];
  assert.ok(temporal, `TEMPORAL_ADDRESS names a service of this file (${host})`);
  assert.match(
    temporal.image ?? '',
    /^temporalio\/server:\d+\.\d+\.\d+$/,
    'the temporalio/server image with a pinned version (auto-setup is no longer published)',
  );
  assert.ok(temporal.healthcheck?.test && !temporal.healthcheck.disable, 'the Temporal service has a healthcheck');

  // The namespace: created by an admin-tools one-shot once the server is healthy.
  const creators = Object.entries(services).filter(
    ([, svc]) => svc.image?.startsWith('temporalio/admin-tools:') && environmentOf(svc).DEFAULT_NAMESPACE,
  );
  assert.equal(creators.length, 1, 'one admin-tools service creates the namespace');
  const [creatorName, creator] = creators[0]!;
  assert.equal(environmentOf(creator).DEFAULT_NAMESPACE, worker.TEMPORAL_NAMESPACE, 'the connector uses the namespace that is created');
  assert.equal(environmentOf(creator).TEMPORAL_ADDRESS, worker.TEMPORAL_ADDRESS, 'created on the server the connector uses');
  assert.equal(dependsOn(creator)[host!], 'service_healthy', 'created once the server is up');
  assert.match(String(creator.command), /temporal operator namespace create/);
  for (const name of [WORKER, STARTER]) {
    assert.equal(dependsOn(service(name))[host!], 'service_healthy', `${name} waits until Temporal is healthy`);
    assert.equal(dependsOn(service(name))[creatorName], 'service_completed_successfully', `${name} waits until the namespace exists`);
  }
});

test('compose: Temporal persists to PostgreSQL, whose schema admin-tools sets up before the server starts', () => {
  const { services } = readCompose();
  const temporal = services.temporal;
  assert.ok(temporal, 'a temporal service');
  const temporalEnv = environmentOf(temporal);
  assert.match(temporalEnv.DB ?? '', /^postgres/, 'Temporal uses PostgreSQL');
  const databaseName = temporalEnv.POSTGRES_SEEDS ?? '';
  const database = services[databaseName];
  assert.ok(database, 'POSTGRES_SEEDS names a service of this file');
  assert.match(database.image ?? '', /^postgres:/);
  assert.equal(environmentOf(database).POSTGRES_PASSWORD, temporalEnv.POSTGRES_PWD, 'Temporal uses the database password');
  assert.ok(database.healthcheck?.test, 'the database has a healthcheck');
  const volumes = (database as { volumes?: string[] }).volumes ?? [];
  assert.ok(
    volumes.some((volume) => volume.endsWith(':/var/lib/postgresql/data')),
    'the database keeps its data in a volume',
  );

  const schemaSetups = Object.entries(services).filter(
    ([, svc]) => svc.image?.startsWith('temporalio/admin-tools:') && /update-schema/.test(String(svc.command)),
  );
  assert.equal(schemaSetups.length, 1, 'one admin-tools service sets up the schema');
  const [setupName, setup] = schemaSetups[0]!;
  const setupEnv = environmentOf(setup);
  assert.equal(setupEnv.SQL_HOST, databaseName, 'on the database Temporal uses');
  assert.equal(setupEnv.SQL_PASSWORD, temporalEnv.POSTGRES_PWD, 'with its password');
  assert.equal(setupEnv.SQL_PLUGIN, temporalEnv.DB, 'with the plugin the server uses');
  assert.equal(dependsOn(setup)[databaseName], 'service_healthy');
  assert.equal(dependsOn(temporal)[setupName], 'service_completed_successfully', 'the server starts once the schema is there');
  const command = String(setup.command);
  for (const db of ['temporal', 'temporal_visibility']) {
    assert.match(
      command,
      new RegExp(
        `--db ${db} update-schema -d /etc/temporal/schema/postgresql/v12/${db === 'temporal' ? 'temporal' : 'visibility'}/versioned`,
      ),
      `${db} schema brought up to date`,
    );
  }
});

test('compose: the Temporal images are the versions the tests run (the pinned CLI dev server)', async () => {
  const { services } = readCompose();
  const env = processEnvironment();
  const cli = await resolveTemporalCli({ cliPath: env.TEMPORAL_CLI_PATH || undefined, searchPath: env.PATH ?? '' });
  const version = await temporalCliVersion(cli.path);
  const match = /\(Server (\d+\.\d+\.\d+), UI (\d+\.\d+\.\d+)\)/.exec(version);
  assert.ok(match, `the CLI names its server and UI versions: ${version}`);
  const [, server, ui] = match;
  assert.equal(tagOf(services.temporal?.image), server, 'temporalio/server');
  const adminTools = Object.values(services).filter((svc) => svc.image?.startsWith('temporalio/admin-tools:'));
  assert.ok(adminTools.length > 0);
  for (const svc of adminTools) assert.equal(tagOf(svc.image), server, 'temporalio/admin-tools matches the server (its schema)');
  const uiService = Object.values(services).find((svc) => svc.image?.startsWith('temporalio/ui:'));
  assert.equal(tagOf(uiService?.image), ui, 'temporalio/ui');
});

test("compose: the Web UI and the server are published on 127.0.0.1 only, the UI away from OpenCTI's 8080; every pulled image is pinned", () => {
  const { services } = readCompose();
  const ui = Object.values(services).find((svc) => svc.image?.startsWith('temporalio/ui:'));
  assert.ok(ui, 'a temporalio/ui service');
  assert.equal(environmentOf(ui).TEMPORAL_ADDRESS, environmentOf(service(WORKER)).TEMPORAL_ADDRESS, 'the UI talks to the same server');
  const uiPorts = publishedPorts(ui);
  assert.equal(uiPorts.length, 1);
  assert.equal(uiPorts[0]!.container, '8080', 'the UI container listens on 8080');
  assert.notEqual(uiPorts[0]!.host, '8080', 'not on the port where OpenCTI usually listens');
  for (const [name, svc] of Object.entries(services)) {
    for (const port of publishedPorts(svc))
      assert.equal(port.address, '127.0.0.1', `${name} publishes ${port.host} on the loopback only (no authentication in front)`);
  }
  assert.ok(
    readFileSync(path.join(ROOT, 'README.md'), 'utf8').includes(`http://127.0.0.1:${uiPorts[0]!.host}`),
    'the README gives the UI address',
  );
  for (const [name, svc] of Object.entries(services)) {
    if (svc.build !== undefined) continue;
    assert.match(svc.image ?? '', /^[^:]+:(?!latest$)[\w.-]+$/, `${name} pins its image to a tag other than latest`);
  }
});

// =============================================================================================
// Dockerfile

test('Dockerfile: glibc (non-alpine) node:24 stages, a Node version package.json supports', () => {
  const stages = dockerfileStages();
  assert.ok(stages.length >= 2, 'multi-stage: a build stage and a runtime stage');
  const names = new Set(stages.map((stage) => stage.name).filter(Boolean));
  const engines = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  const supportedMajors = [...engines.matchAll(/\^(\d+)\./g)].map((match) => match[1]);
  for (const stage of stages) {
    if (names.has(stage.base.toLowerCase())) continue; // FROM an earlier stage: its own base was checked
    assert.match(stage.base, /^node:24([.-]|$)/, `${stage.base}: a node:24 image (the current LTS)`);
    assert.doesNotMatch(stage.base, /alpine|musl/i, `${stage.base}: the Temporal core bridge needs glibc`);
    assert.ok(supportedMajors.includes(/^node:(\d+)/.exec(stage.base)![1]), `package.json engines (${engines}) includes ${stage.base}`);
  }
});

test('Dockerfile: the build stage installs everything and runs npm run build; the runtime stage has production dependencies and dist/ only', () => {
  const build = buildStage();
  const buildSteps = runStepsOf(build).flat();
  assert.ok(
    buildSteps.some((step) => /^npm ci\b/.test(step) && !step.includes('--omit=dev')),
    'the build stage installs the development dependencies',
  );
  assert.ok(buildSteps.includes('npm run build'), 'the build stage runs npm run build');

  const final = finalStage();
  assert.match(envOf(final).NODE_ENV ?? '', /^production$/);
  const steps = runStepsOf(final).flat();
  assert.ok(
    steps.some((step) => /^npm ci\b.*--omit=dev/.test(step)),
    'npm ci --omit=dev',
  );
  assert.ok(!steps.some((step) => /\bnpm (install|i)\b/.test(step)), 'npm ci, not npm install: the lockfile is the source of truth');
  const copies = copiesOf(final);
  const fromContext = copies.filter((copy) => copy.from === undefined).flatMap((copy) => copy.sources);
  assert.deepEqual(
    fromContext.sort(),
    ['package-lock.json', 'package.json'],
    'from the build context: the package files only (no sources, no secrets)',
  );
  const fromBuild = copies.filter((copy) => copy.from !== undefined);
  assert.deepEqual(
    fromBuild.map((copy) => [copy.sources, copy.destination]),
    [[[`${instructionsOf(build, 'WORKDIR').at(-1)}/dist`], './dist']],
    'the compiled code and the bundle, from the build stage',
  );
});

test('Dockerfile: runs as a non-root user, node on the compiled worker in the exec form (signals reach it)', () => {
  const final = finalStage();
  const user = userOf(final);
  assert.ok(!['root', '0'].includes(user), `runs as ${user}, not root`);
  assert.deepEqual(cmdOf(final), ['node', 'dist/worker/main.js']);
  assert.equal(instructionsOf(final, 'ENTRYPOINT').length, 0, 'no ENTRYPOINT: the command alone picks the role');
});

test('Dockerfile: the build stage copies every source the roles and the build load; tsconfig.build.json compiles them to dist/', () => {
  const build = buildStage();
  const copied = new Set(
    copiesOf(build)
      .filter((copy) => copy.from === undefined)
      .flatMap((copy) => copy.sources),
  );
  assert.ok(!copied.has('.'), 'sources are copied folder by folder, not the whole context');
  const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const buildEntries = [...(scripts.build ?? '').matchAll(/\btsx\s+(\S+\.ts)/g)].map((match) => match[1]!);
  assert.ok(buildEntries.length > 0, 'npm run build bundles the workflows with a script');
  const withoutComments = readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '');
  const tsconfig = JSON.parse(withoutComments) as { include: string[]; compilerOptions: { outDir: string; noEmit?: boolean } };
  assert.equal(tsconfig.compilerOptions.outDir, 'dist');
  assert.equal(tsconfig.compilerOptions.noEmit, false);
  for (const entry of ['worker/main.ts', 'starter/main.ts', 'app/main.ts', ...buildEntries]) {
    const needed = new Set([...reachableFiles(entry)].map((file) => file.split(path.sep)[0]!));
    assert.deepEqual(
      [...needed].filter((top) => !copied.has(top)),
      [],
      `${entry} loads files from folders the build stage lacks`,
    );
    assert.deepEqual(
      [...needed].filter((top) => !tsconfig.include.includes(top)),
      [],
      `${entry} loads files tsconfig.build.json does not compile`,
    );
  }
  for (const file of ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'])
    assert.ok(copied.has(file), `the build stage copies ${file}`);
  for (const secret of ['config.yml', '.env']) assert.ok(!copied.has(secret), `${secret} is not baked into the image`);
  const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim().replace(/\/+$/, ''));
  for (const entry of ['node_modules', '.git', 'data', '.temporal', '.node', 'dist', 'config.yml'])
    assert.ok(ignored.includes(entry), `.dockerignore lists ${entry}`);
});

// =============================================================================================
// config.yml.sample

test('config.yml.sample: loads through loadConfig once the placeholders are replaced', () => {
  const config = withTempFile(sampleWithPlaceholdersReplaced(), (file) => loadConfig('all', { env: {}, configFile: file }));
  assert.equal(config.opencti.token, 'replaced-token');
  assert.match(config.opencti.url, /^https?:\/\//);
  assert.equal(config.connector.id, A_UUID);
  assert.equal(config.connector.liveStreamId, 'replaced-live_stream_id');
  assert.equal(config.virusTotal.apiKey, 'replaced-token');
  assert.deepEqual(config.virusTotal.notificationEmails, ['user@example.com']);
  assert.equal(config.temporal.namespace, 'default');
  assert.equal(config.temporal.taskQueue, 'virustotal-livehunt');
  assert.equal(config.logLevel, 'info');
});

test('config.yml.sample: as shipped, the connector refuses it until every ChangeMe is replaced', () => {
  const problems = problemsOf(() => loadConfig('all', { env: {}, configFile: path.join(ROOT, 'config.yml.sample') }));
  for (const key of ['OPENCTI_TOKEN', 'CONNECTOR_ID', 'CONNECTOR_LIVE_STREAM_ID', 'VIRUSTOTAL_LIVEHUNT_TOKEN']) {
    assert.ok(
      problems.some((problem) => problem.startsWith(`${key}:`)),
      `${key}:\n${problems.join('\n')}`,
    );
  }
});

test('config.yml.sample: lists every variable, each under the section that maps to it', () => {
  const keys = Object.keys(flattenYaml(parseYaml(readSample())));
  assert.deepEqual(
    keys.filter((key) => !KNOWN.has(key)),
    [],
    'keys that map to no variable (typo, or wrong section)',
  );
  assert.deepEqual(
    [...KNOWN].filter((key) => !keys.includes(key)),
    [],
    'variables the sample does not show',
  );
  const sections = Object.keys(parseYaml(readSample()) as object);
  assert.deepEqual(sections.sort(), ['connector', 'opencti', 'temporal', 'virustotal_livehunt']);
});

test('config.yml.sample: the values it shows are the defaults', () => {
  const sample = sampleWithPlaceholdersReplaced();
  const fromSample = withTempFile(sample, (file) => loadConfig('all', { env: {}, configFile: file }));
  // The same mandatory values, everything else left to the schema's defaults.
  const settings = flattenYaml(parseYaml(sample));
  const mandatory = Object.fromEntries(mandatoryKeys(ALL_SCHEMAS).map((key) => [key, settings[key]]));
  const fromDefaults = loadConfig('all', { env: mandatory, configFile: false });
  const withoutClientEnv = (config: typeof fromSample) => ({ ...config, temporal: { ...config.temporal, clientEnv: {} } });
  assert.deepEqual(withoutClientEnv(fromSample), withoutClientEnv(fromDefaults));
});
