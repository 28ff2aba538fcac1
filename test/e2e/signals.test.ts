/**
 * SIGTERM/SIGINT stop every entry point at any moment of start-up: while it retries an
 * unreachable OpenCTI, and while it waits on a Temporal address that never answers. The exit
 * code is the documented one for a requested stop (0), not a kill by signal and not a hang.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { EXIT_STOPPED } from '../../common/shutdown';
import { freePort } from '../../temporal/dev-server';
import { RoleProcess, waitFor } from '../support/processes';
import { useTestTemporal } from '../support/temporal';

const temporal = useTestTemporal();

/** Accepts TCP connections and never says a word: a Temporal address behind a broken network. */
let silent: Server;
const held = new Set<Socket>();
let silentAddress: string;
let nobodyListens: number;

before(async () => {
  silent = createServer((socket) => {
    held.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentAddress = `127.0.0.1:${(silent.address() as { port: number }).port}`;
  nobodyListens = await freePort();
});

after(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

function environment(temporalAddress: string): Record<string, string> {
  return {
    OPENCTI_URL: `http://127.0.0.1:${nobodyListens}`,
    OPENCTI_TOKEN: 'opencti-token',
    CONNECTOR_ID: randomUUID(),
    CONNECTOR_LIVE_STREAM_ID: 'live',
    VIRUSTOTAL_LIVEHUNT_TOKEN: 'vt-key',
    VIRUSTOTAL_LIVEHUNT_API_URL: `http://127.0.0.1:${nobodyListens}/api/v3`,
    VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS: 'soc@example.org',
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_TASK_QUEUE: `signals-${randomUUID().slice(0, 8)}`,
  };
}

/** Sends `signal` once `ready` shows in the output; resolves with the exit code. */
async function stopWhen(process: RoleProcess, ready: RegExp, signal: NodeJS.Signals): Promise<number | null> {
  await waitFor(`${process.role} to reach ${ready}`, () => ready.test(process.log()), 60_000);
  process.child.kill(signal);
  // Generous: the point is that it exits at all (before, it retried forever or died by the signal).
  const code = await Promise.race([
    process.exit(),
    new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 20_000)),
  ]);
  if (code === 'still running') {
    await process.kill('SIGKILL');
    assert.fail(`${process.role} ignored ${signal}:\n${process.log()}`);
  }
  return code;
}

for (const [role, signal] of [
  ['starter', 'SIGTERM'],
  ['app', 'SIGINT'],
  ['app', 'SIGTERM'],
] as const) {
  test(`${role}: ${signal} while registering with an unreachable OpenCTI stops it (exit ${EXIT_STOPPED})`, async () => {
    const process = RoleProcess.start(role, environment(temporal().address));
    const code = await stopWhen(process, /registering the connector in OpenCTI failed; retrying/, signal);
    assert.equal(code, EXIT_STOPPED, process.log());
    assert.match(process.log(), /stop signal received during start-up/);
    assert.match(process.log(), /ECONNREFUSED/, 'the retried error says why');
  });
}

for (const role of ['starter', 'worker', 'app'] as const) {
  test(`${role}: SIGTERM while waiting on a Temporal address that never answers stops it (exit ${EXIT_STOPPED})`, async () => {
    const process = RoleProcess.start(role, environment(silentAddress));
    const code = await stopWhen(process, /connecting to Temporal/, 'SIGTERM');
    assert.equal(code, EXIT_STOPPED, process.log());
    assert.match(process.log(), /stop signal received during start-up/);
  });
}
