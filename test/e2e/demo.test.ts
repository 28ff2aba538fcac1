/**
 * `npm run demo -- --exit-after-summary` as a newcomer (or CI) runs it: the whole demo as a child
 * process, on free ports and in a scratch data folder so that it can run next to a real demo.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { processEnvironment } from '../../config';
import { freePort } from '../../temporal/dev-server';
import { RULESETS_TITLE, WORKFLOW_LIST_LABEL } from '../../demo/summary';

const ROOT = path.resolve(__dirname, '../..');
const DEMO_TIMEOUT_MS = 90_000;

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'livehunt-demo-test-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

/** GET until it answers (the Web UI may start a moment after the frontend), returning the last status. */
async function httpStatus(url: string, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
      await response.arrayBuffer();
      if (response.status === 200) return 200;
      last = response.status;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return typeof last === 'number' ? last : Promise.reject(last);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The ruleset names of the summary's VirusTotal table: the lines under its title and header, up to a blank line. */
function rulesetNames(output: string): string[] {
  const lines = output.split('\n');
  const title = lines.findIndex((line) => line.startsWith(RULESETS_TITLE));
  assert.ok(title >= 0, `no "${RULESETS_TITLE}" section in the output:\n${output}`);
  const rows: string[] = [];
  for (const line of lines.slice(title + 2)) {
    if (!line.trim()) break;
    rows.push(line.trim().split(/\s+/)[0]!);
  }
  return rows.sort();
}

test(
  'npm run demo -- --exit-after-summary plays the scenario, prints the summary and exits cleanly',
  { timeout: DEMO_TIMEOUT_MS + 30_000 },
  async () => {
    const [openCtiPort, virusTotalPort, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const args = [
      '--exit-after-summary',
      '--opencti-port',
      openCtiPort,
      '--virustotal-port',
      virusTotalPort,
      '--temporal-port',
      temporalPort,
      '--ui-port',
      uiPort,
      '--data-dir',
      dataDir,
    ];
    const env = Object.fromEntries(
      Object.entries(processEnvironment()).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', 'demo/main.ts', ...args.map(String)], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });

    let stdout = '';
    let stderr = '';
    let uiCheck: Promise<{ url: string; status: number }> | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      // The demo announces the Web UI early and shuts it down right after the summary: check it while it is up.
      const announced = /^\[demo\] Temporal Web UI: (\S+)$/m.exec(stdout)?.[1];
      if (announced && !uiCheck) uiCheck = httpStatus(announced).then((status) => ({ url: announced, status }));
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));

    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the demo did not exit within ${DEMO_TIMEOUT_MS} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`)),
        DEMO_TIMEOUT_MS,
      );
      child.once('close', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    assert.equal(code, 0, `the demo failed\nstdout:\n${stdout}\nstderr:\n${stderr}`);

    assert.deepEqual(rulesetNames(stdout), ['ACME_Loader_Strings', 'CobaltStrike_Beacon_Config', 'Sliver_Implant_Strings']);

    assert.ok(uiCheck, `the demo never announced the Temporal Web UI:\n${stdout}`);
    const ui = await uiCheck;
    assert.equal(ui.url, `http://127.0.0.1:${uiPort}/namespaces/default/workflows`);
    assert.equal(ui.status, 200, `the Web UI at ${ui.url} answered ${ui.status}`);
    assert.ok(stdout.includes(`${WORKFLOW_LIST_LABEL} ${ui.url}\n`), 'the summary links the workflow list it announced');
    const workflowLinks =
      stdout.match(new RegExp(`${ui.url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/livehunt-indicator-[0-9a-f-]{36}`, 'g')) ?? [];
    assert.equal(new Set(workflowLinks).size, 6, 'one workflow link per YARA indicator');

    // Everything it started is gone: the connector, its dev server and the emulators.
    for (const port of [openCtiPort, virusTotalPort, temporalPort, uiPort])
      assert.ok(await portIsFree(port), `port ${port} is still in use after the demo exited`);
    assert.ok(existsSync(path.join(dataDir, 'temporal.db')), 'the embedded dev server kept its state in --data-dir');
  },
);
