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
  return schemas.flatMap((schema) => Object.entries(schema.shape).filter(([, type]) => !type.safeParse(undefined).success).map(([key]) => key));
}

/** Variables only `npm start`'s embedded Temporal dev server uses; meaningless in a container. */
const EMBEDDED_SERVER_ONLY = ['TEMPORAL_CLI_PATH', 'TEMPORAL_DEV_SERVER_PORT', 'TEMPORAL_DEV_SERVER_UI_PORT', 'CONNECTOR_DATA_DIR'];

/** Replaces the ChangeMe placeholders with values the schema accepts. */
function withPlaceholdersReplaced(env: RawSettings): RawSettings {
  return Object.fromEntries(
    Object.entries(env).map(([key, value]) => [key, value === PLACEHOLDER ? (key === 'CONNECTOR_ID' ? A_UUID : `replaced-${key.toLowerCase()}`) : value]),
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

function commandOf(svc: Service): string {
  if (svc.command === undefined) return dockerfileCmd().join(' ');
  return Array.isArray(svc.command) ? svc.command.join(' ') : svc.command.trim().replace(/\s+/g, ' ');
}

function dependsOn(svc: Service): Record<string, string> {
  const deps = svc.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, spec]) => [name, spec?.condition ?? 'service_started']));
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

type Instruction = { keyword: string; args: string };

function dockerfileInstructions(): Instruction[] {
  const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const instructions: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (pending !== '' && line.startsWith('#')) continue; // comment inside a continued instruction
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = `${pending}${line}`.trim();
    pending = '';
    if (full === '') continue;
    const match = /^(\S+)\s*(.*)$/s.exec(full)!;
    instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim() });
  }
  return instructions;
}

/** The instructions of the last build stage, the one that becomes the image. */
function finalStage(): Instruction[] {
  const all = dockerfileInstructions();
  const lastFrom = all.map((instruction) => instruction.keyword).lastIndexOf('FROM');
  assert.ok(lastFrom >= 0, 'the Dockerfile has a FROM');
  return all.slice(lastFrom);
}

function dockerfileCmd(): string[] {
  const cmds = finalStage().filter((instruction) => instruction.keyword === 'CMD');
  assert.ok(cmds.length > 0, 'the Dockerfile has a CMD');
  const args = cmds.at(-1)!.args;
  assert.ok(args.startsWith('['), 'CMD uses the exec (JSON) form, so signals reach the process');
  return JSON.parse(args) as string[];
}

/** The build-context paths COPY/ADD take from, flags (--chown, --from) stripped. */
function copiedSources(): string[] {
  return finalStage()
    .filter((instruction) => instruction.keyword === 'COPY' || instruction.keyword === 'ADD')
    .filter((instruction) => !/--from[=\s]/.test(instruction.args))
    .flatMap((instruction) => {
      const parts = instruction.args.startsWith('[')
        ? (JSON.parse(instruction.args) as string[])
        : instruction.args.split(/\s+/).filter((part) => !part.startsWith('--'));
      return parts.slice(0, -1).map((source) => source.replace(/^\.\//, '').replace(/\/+$/, ''));
    });
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
      const resolved = [target, `${target}.ts`, path.join(target, 'index.ts')].find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
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

test('compose: the worker and the starter are built from the Dockerfile', () => {
  for (const name of [WORKER, STARTER]) {
    const svc = service(name);
    assert.ok(svc.build !== undefined, `${name} has a build section (not only a prebuilt image)`);
    const build = typeof svc.build === 'string' ? { context: svc.build } : svc.build!;
    const dockerfile = path.resolve(ROOT, build.context ?? '.', build.dockerfile ?? 'Dockerfile');
    assert.equal(dockerfile, path.join(ROOT, 'Dockerfile'), `${name} builds from this repository's Dockerfile`);
    assert.ok(existsSync(dockerfile), 'the Dockerfile exists');
    assert.equal(svc.restart, 'always', `${name} is restarted when it exits`);
  }
});

test('compose: the worker runs npm run worker, the starter npm run starter with exactly one replica', () => {
  const worker = service(WORKER);
  const starter = service(STARTER);
  assert.equal(commandOf(worker), 'npm run worker');
  assert.equal(commandOf(starter), 'npm run starter');
  assert.equal(starter.deploy?.replicas, 1, 'the starter declares deploy.replicas: 1 (one stream position per CONNECTOR_ID)');
  assert.equal(starter.scale ?? 1, 1, 'the starter is not scaled');
  assert.ok((worker.deploy?.replicas ?? 1) >= 1, 'the worker has at least one replica');
});

test('compose: every connector variable set is one the configuration schema knows, and one that role reads', () => {
  for (const [name, role] of [[WORKER, 'worker'], [STARTER, 'starter']] as const) {
    const keys = Object.keys(environmentOf(service(name)));
    assert.deepEqual(keys.filter((key) => !KNOWN.has(key)), [], `${name} sets variables the connector does not know (typos?)`);
    const read = keysOf(ROLE_SCHEMAS[role]);
    assert.deepEqual(keys.filter((key) => !read.has(key)), [], `${name} sets variables its role (${role}) never reads`);
  }
});

test('compose: every variable a container can use is listed, on the worker or the starter', () => {
  const listed = new Set([...Object.keys(environmentOf(service(WORKER))), ...Object.keys(environmentOf(service(STARTER)))]);
  const missing = [...KNOWN].filter((key) => !listed.has(key) && !EMBEDDED_SERVER_ONLY.includes(key));
  assert.deepEqual(missing, []);
});

test('compose: the mandatory variables are present, and the services load once the placeholders are replaced', () => {
  for (const [name, role] of [[WORKER, 'worker'], [STARTER, 'starter']] as const) {
    const env = environmentOf(service(name));
    // TEMPORAL_ADDRESS is optional in the schema (npm start) but required by both container roles.
    const mandatory = ['TEMPORAL_ADDRESS', ...mandatoryKeys(ROLE_SCHEMAS[role])];
    assert.deepEqual(mandatory.filter((key) => !env[key]), [], `${name} sets every mandatory variable`);
    const config = loadConfig(role as 'worker', { env: withPlaceholdersReplaced(env), configFile: false });
    assert.ok(config.temporal.address, `${name} has a Temporal address`);
  }
  // The list above is derived from the schema; spell out the ones a reader expects.
  const worker = environmentOf(service(WORKER));
  const starter = environmentOf(service(STARTER));
  for (const key of ['VIRUSTOTAL_LIVEHUNT_TOKEN', 'VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS']) assert.ok(worker[key], `the worker sets ${key}`);
  for (const key of ['OPENCTI_URL', 'OPENCTI_TOKEN', 'CONNECTOR_ID', 'CONNECTOR_LIVE_STREAM_ID']) assert.ok(starter[key], `the starter sets ${key}`);
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
  assert.ok(workerProblems.some((problem) => problem.startsWith('VIRUSTOTAL_LIVEHUNT_TOKEN:')), workerProblems.join('\n'));
  const starterProblems = problemsOf(() => loadConfig('starter', { env: starter, configFile: false }));
  for (const key of ['OPENCTI_TOKEN', 'CONNECTOR_ID', 'CONNECTOR_LIVE_STREAM_ID']) {
    assert.ok(starterProblems.some((problem) => problem.startsWith(`${key}:`)), `${key} placeholder refused:\n${starterProblems.join('\n')}`);
  }
  assert.equal(worker.OPENCTI_TOKEN, undefined, 'the worker never holds the OpenCTI token');
  assert.equal(starter.VIRUSTOTAL_LIVEHUNT_TOKEN, undefined, 'the starter never holds the VirusTotal key');
});

test('compose: TEMPORAL_ADDRESS points at the temporal service, which both roles wait for', () => {
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
  assert.match(temporal.image ?? '', /^temporalio\/(auto-setup|server):\d+\.\d+\.\d+$/, 'a Temporal server image with a pinned version');
  const temporalEnv = environmentOf(temporal);
  assert.equal(worker.TEMPORAL_NAMESPACE, temporalEnv.DEFAULT_NAMESPACE ?? 'default', 'the connector uses the namespace the server creates');
  assert.ok(temporal.healthcheck?.test && !temporal.healthcheck.disable, 'the Temporal service has a healthcheck');
  for (const name of [WORKER, STARTER]) {
    assert.equal(dependsOn(service(name))[host!], 'service_healthy', `${name} waits until Temporal is healthy`);
  }
});

test('compose: Temporal persists to PostgreSQL, the Web UI is on 8080, and every pulled image is pinned', () => {
  const { services } = readCompose();
  const temporal = services.temporal;
  assert.ok(temporal, 'a temporal service');
  const temporalEnv = environmentOf(temporal);
  assert.match(temporalEnv.DB ?? '', /^postgres/, 'Temporal uses PostgreSQL');
  const database = services[temporalEnv.POSTGRES_SEEDS ?? ''];
  assert.ok(database, 'POSTGRES_SEEDS names a service of this file');
  assert.match(database.image ?? '', /^postgres:/);
  assert.equal(environmentOf(database).POSTGRES_PASSWORD, temporalEnv.POSTGRES_PWD, 'Temporal uses the database password');
  assert.equal(dependsOn(temporal)[temporalEnv.POSTGRES_SEEDS!], 'service_healthy');
  assert.ok(database.healthcheck?.test, 'the database has a healthcheck');
  const volumes = (database as { volumes?: string[] }).volumes ?? [];
  assert.ok(volumes.some((volume) => volume.endsWith(':/var/lib/postgresql/data')), 'the database keeps its data in a volume');

  const ui = Object.values(services).find((svc) => svc.image?.startsWith('temporalio/ui:'));
  assert.ok(ui, 'a temporalio/ui service');
  assert.equal(environmentOf(ui).TEMPORAL_ADDRESS, environmentOf(service(WORKER)).TEMPORAL_ADDRESS, 'the UI talks to the same server');
  assert.ok((ui.ports ?? []).some((entry) => (typeof entry === 'string' ? /(^|:)8080:8080$/.test(entry) : entry.target === 8080)), 'the UI is published on 8080');

  for (const [name, svc] of Object.entries(services)) {
    if (svc.build !== undefined) continue;
    assert.match(svc.image ?? '', /^[^:]+:(?!latest$)[\w.-]+$/, `${name} pins its image to a tag other than latest`);
  }
});

// =============================================================================================
// Dockerfile

test('Dockerfile: a glibc (non-alpine) node:20 base, NODE_ENV=production, production dependencies only', () => {
  const froms = dockerfileInstructions().filter((instruction) => instruction.keyword === 'FROM');
  assert.ok(froms.length > 0);
  const stages = new Set<string>();
  for (const from of froms) {
    const words = from.args.split(/\s+/).filter((word) => !word.startsWith('--'));
    const image = words[0]!;
    const isEarlierStage = stages.has(image.toLowerCase());
    if (words[1]?.toLowerCase() === 'as' && words[2]) stages.add(words[2].toLowerCase());
    if (isEarlierStage) continue; // FROM an earlier stage: its own base was checked
    assert.match(image, /^node:20([.-]|$)/, `${image}: a node:20 image`);
    assert.doesNotMatch(image, /alpine|musl/i, `${image}: the Temporal core bridge needs glibc`);
  }
  const final = finalStage();
  const env = final.filter((instruction) => instruction.keyword === 'ENV').map((instruction) => instruction.args).join(' ');
  assert.match(env, /\bNODE_ENV[= ]production\b/);
  const runs = final.filter((instruction) => instruction.keyword === 'RUN').map((instruction) => instruction.args);
  assert.ok(runs.some((run) => /\bnpm ci\b.*--omit=dev/.test(run)), 'npm ci --omit=dev');
  assert.ok(!runs.some((run) => /\bnpm (install|i)\b/.test(run)), 'npm ci, not npm install: the lockfile is the source of truth');
  const copies = copiedSources();
  assert.ok(copies.includes('package-lock.json') && copies.includes('package.json'), 'package.json and the lockfile are copied');
});

test('Dockerfile: runs as a non-root user, npm run worker by default, with signals reaching the connector', () => {
  const final = finalStage();
  const users = final.filter((instruction) => instruction.keyword === 'USER').map((instruction) => instruction.args.split(':')[0]!.trim());
  assert.ok(users.length > 0, 'a USER instruction');
  assert.ok(!['root', '0'].includes(users.at(-1)!), `runs as ${users.at(-1)}, not root`);
  assert.deepEqual(dockerfileCmd(), ['npm', 'run', 'worker']);
  // npm runs scripts through `script-shell -c`; dash (Debian's sh) would stand between npm and
  // tsx and swallow the SIGTERM of `docker stop`.
  const env = final.filter((instruction) => instruction.keyword === 'ENV').map((instruction) => instruction.args).join(' ');
  assert.match(env, /\bNPM_CONFIG_SCRIPT_SHELL[= ]\/bin\/bash\b/);
});

test('Dockerfile: copies every source file the worker, the starter and npm start load, and no secrets', () => {
  const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const copied = new Set(copiedSources());
  assert.ok(!copied.has('.'), 'sources are copied folder by folder, not the whole context');
  for (const script of ['worker', 'starter', 'start']) {
    const entry = /^tsx\s+(\S+\.ts)$/.exec(scripts[script] ?? '')?.[1];
    assert.ok(entry, `npm run ${script} is "tsx <file>"`);
    const needed = new Set([...reachableFiles(entry)].map((file) => file.split(path.sep)[0]!));
    assert.deepEqual([...needed].filter((top) => !copied.has(top)), [], `npm run ${script} loads files from folders the image lacks`);
  }
  assert.ok(copied.has('tsconfig.json'), 'tsx reads tsconfig.json');
  for (const secret of ['config.yml', '.env']) assert.ok(!copied.has(secret), `${secret} is not baked into the image`);
  const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim().replace(/\/+$/, ''));
  for (const entry of ['node_modules', '.git', 'data', '.temporal', 'config.yml']) assert.ok(ignored.includes(entry), `.dockerignore lists ${entry}`);
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
    assert.ok(problems.some((problem) => problem.startsWith(`${key}:`)), `${key}:\n${problems.join('\n')}`);
  }
});

test('config.yml.sample: lists every variable, each under the section that maps to it', () => {
  const keys = Object.keys(flattenYaml(parseYaml(readSample())));
  assert.deepEqual(keys.filter((key) => !KNOWN.has(key)), [], 'keys that map to no variable (typo, or wrong section)');
  assert.deepEqual([...KNOWN].filter((key) => !keys.includes(key)), [], 'variables the sample does not show');
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
