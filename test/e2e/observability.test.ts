/**
 * What an operator sees of a running deployment: one JSON log stream in pycti's shape (the
 * Temporal SDK's own entries included, secrets masked), Prometheus metrics and health endpoints
 * on each process's port, and a ping that tells OpenCTI what the starter holds.
 *
 * Worker and starter run as child processes, each with its own CONNECTOR_METRICS_PORT, as two
 * containers on one host would; they go through a create, an update, VirusTotal failures (a 503
 * and a rejected rule) and a shutdown.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { freeLoopbackPort } from '../../common/metrics-server';
import { RoleProcess, waitFor } from '../support/processes';
import { Stack } from '../support/stack';
import { useTestTemporal } from '../support/temporal';
import { rule } from '../support/yara';

const temporal = useTestTemporal();

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

/** The value of one sample of the exposition text, by its exact series (name and labels). */
function sample(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('one log stream, metrics and health per process, and a truthful ping, through a create, an update, failures and a shutdown', async () => {
  const [workerPort, starterPort] = [await freeLoopbackPort(), await freeLoopbackPort()];
  const stack = await Stack.start(temporal(), {
    starter: false,
    env: { CONNECTOR_EXPOSE_METRICS: 'true', CONNECTOR_METRICS_PORT: String(workerPort) },
  });
  try {
    stack.starter = RoleProcess.start('starter', { ...stack.env, CONNECTOR_METRICS_PORT: String(starterPort) });
    await waitFor('the starter to connect', () => stack.opencti.connections() > 0, 60_000);

    // Liveness as soon as the port is up; readiness once the worker polls and the starter reads the stream.
    for (const port of [workerPort, starterPort])
      await waitFor(`/healthz on ${port}`, async () => (await get(port, '/healthz')).status === 200, 60_000);
    for (const port of [workerPort, starterPort])
      await waitFor(`/readyz on ${port}`, async () => (await get(port, '/readyz')).status === 200, 60_000);

    // A create that meets a 503 first, an update, and a rule VirusTotal rejects.
    stack.vt.injectFault({ method: 'POST', path: '/intelligence/hunting_rulesets', status: 503, code: 'TransientError', times: 1 });
    const created = stack.opencti.createIndicator({ name: 'Observed_Rule', pattern: rule('Observed_Rule') });
    await stack.applied(created.internalId, created.eventId);
    const updated = stack.opencti.updateIndicator(created.internalId, { pattern: rule('Observed_Rule', 'filesize < 1KB') });
    await stack.applied(created.internalId, updated);
    const broken = stack.opencti.createIndicator({ name: 'Broken_Observed', pattern: 'rule Broken_Observed { condition: ' });
    assert.equal((await stack.applied(broken.internalId, broken.eventId)).status, 'invalid-rule');

    // The worker: the connector's own series and the SDK core's, on one port.
    const worker = (await get(workerPort, '/metrics')).body;
    assert.ok(
      (sample(worker, 'livehunt_virustotal_requests_total{operation="create_ruleset",status="503"}') ?? 0) >= 1,
      'the 503 is counted',
    );
    assert.ok(
      (sample(worker, 'livehunt_virustotal_requests_total{operation="create_ruleset",status="200"}') ?? 0) >= 2,
      'created, then recreated by the update',
    );
    // The compiler refuses the broken rule before any request: it costs none, and is counted as invalid.
    assert.equal(
      sample(worker, 'livehunt_virustotal_requests_total{operation="create_ruleset",status="400"}'),
      undefined,
      'no 400 from VirusTotal',
    );
    assert.ok((sample(worker, 'livehunt_virustotal_request_duration_seconds_count{operation="create_ruleset"}') ?? 0) >= 3);
    assert.ok((sample(worker, 'livehunt_invalid_rules_total') ?? 0) >= 1, 'the rejected rule is counted');
    assert.ok((sample(worker, 'livehunt_activity_outcomes_total{activity="ensureRuleset",outcome="created"}') ?? 0) >= 2);
    await waitFor(
      'the rulesets gauge to count both',
      async () => {
        const text = (await get(workerPort, '/metrics')).body;
        return sample(text, 'livehunt_rulesets{status="active"}') === 1 && sample(text, 'livehunt_rulesets{status="invalid-rule"}') === 1;
      },
      30_000,
      1_000,
    );
    assert.match(worker, /^temporal_worker_task_slots_available\{/m, "the SDK core's slot metrics are served too");
    assert.match(worker, /^temporal_activity_execution_failed_total\{/m, 'and its activity failures');
    assert.match(worker, /^temporal_workflow_task_schedule_to_start_latency_seconds_bucket\{/m, 'and its task latencies');

    // The starter.
    const starter = (await get(starterPort, '/metrics')).body;
    assert.ok((sample(starter, 'livehunt_starter_stream_frames_total{event="create"}') ?? 0) >= 2);
    assert.ok((sample(starter, 'livehunt_starter_stream_frames_total{event="update"}') ?? 0) >= 1);
    assert.ok((sample(starter, 'livehunt_starter_events_handed_to_temporal_total') ?? 0) >= 3);
    assert.ok((sample(starter, 'livehunt_starter_delivery_latency_seconds_count') ?? 0) >= 3);
    assert.equal(sample(starter, 'livehunt_starter_stream_paused'), 0);
    assert.equal(sample(starter, 'livehunt_starter_events_waiting_for_temporal'), 0);
    assert.ok((sample(starter, 'livehunt_starter_buffered_events') ?? -1) >= 0);
    const lag = sample(starter, 'livehunt_starter_stream_lag_seconds');
    assert.ok(lag !== undefined && lag >= 0 && lag < 600, `lag is a plausible age (${lag})`);
    assert.doesNotMatch(starter, /^temporal_/m, 'a starter runs no worker: no SDK core series');

    // Every series the Grafana dashboard queries is one these processes serve.
    const dashboard = readFileSync(path.join(__dirname, '../../deploy/grafana/livehunt.json'), 'utf8');
    const queried = new Set(
      [...dashboard.matchAll(/\b((?:livehunt|temporal)_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, '')),
    );
    const served = new Set([...`${worker}\n${starter}`.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    for (const name of queried) assert.ok(served.has(name), `the dashboard's ${name} is served`);
    assert.ok(queried.size >= 20, `the dashboard queries ${queried.size} series`);

    // The ping says what the starter holds: nothing waiting, stream not paused.
    await waitFor('a ping with connector info', () => stack.opencti.connectors().find((c) => c.id === stack.connectorId)?.info);
    const info = stack.opencti.connectors().find((c) => c.id === stack.connectorId)!.info!;
    assert.equal(info.buffering, false);
    assert.equal(info.queue_messages_size, 0);

    // Shutdown, then every line either process wrote is one JSON object in pycti's shape.
    assert.equal(await stack.starter.kill('SIGTERM'), 0);
    assert.equal(await stack.worker.kill('SIGTERM'), 0);
    const lines = [...stack.worker.output, ...stack.starter.output];
    const names = new Set<string>();
    for (const line of lines) {
      assert.doesNotMatch(line, /[\u0000-\u001f]/, 'no raw control character');
      const entry = JSON.parse(line) as Record<string, unknown>;
      assert.deepEqual(Object.keys(entry), ['timestamp', 'level', 'name', 'message', 'attributes'], line);
      assert.ok(!Number.isNaN(Date.parse(entry.timestamp as string)), line);
      assert.match(entry.level as string, /^(DEBUG|INFO|WARNING|ERROR)$/, line);
      assert.equal(typeof entry.message, 'string', line);
      assert.equal(typeof entry.attributes, 'object', line);
      names.add(entry.name as string);
      for (const secret of [stack.env.OPENCTI_TOKEN!, stack.env.VIRUSTOTAL_LIVEHUNT_TOKEN!])
        assert.ok(!line.includes(secret), `no secret in ${line}`);
    }
    for (const name of ['virustotal-livehunt.worker', 'virustotal-livehunt.starter', 'temporal.worker'])
      assert.ok(names.has(name), `${name} logs (${[...names].join(', ')})`);
    assert.ok(
      lines.some((line) => line.includes('"name":"temporal.') && line.includes('"level":"WARNING"')),
      "the SDK's warning about the failed activity is in the stream",
    );
    assert.ok(
      lines.some((line) => line.includes('"message":"starter stopped"')),
      'the shutdown is logged',
    );
  } finally {
    await stack.stop();
  }
});
