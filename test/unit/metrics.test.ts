/**
 * The metrics and health port: the connector's series as the hooks feed them, the SDK core's text
 * appended, readiness reported with its reasons.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { Registry } from 'prom-client';
import { createLogger } from '../../common/logger';
import { startMetricsServer } from '../../common/metrics-server';
import { INVALID_RULE } from '../../domain/failures';
import { createStarterMetrics } from '../../starter/metrics';
import { createWorkerMetrics, virusTotalOperation } from '../../worker/metrics';

const quiet = createLogger('error', {}, { write: () => {} });

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('VirusTotal paths become a few operation names, whatever the ids', () => {
  const cases: Array<[string, string, string]> = [
    ['POST', '/intelligence/hunting_rulesets', 'create_ruleset'],
    ['GET', '/intelligence/hunting_rulesets?limit=40&filter=name%3Ax', 'list_rulesets'],
    ['GET', '/intelligence/hunting_rulesets/123', 'get_ruleset'],
    ['PATCH', '/intelligence/hunting_rulesets/123', 'update_ruleset'],
    ['DELETE', '/intelligence/hunting_rulesets/123', 'delete_ruleset'],
    ['GET', '/intelligence/hunting_rulesets/123/relationships/editors?limit=40', 'list_editors'],
    ['POST', '/intelligence/hunting_rulesets/123/relationships/editors', 'add_editors'],
    ['GET', '/intelligence/hunting_rulesets/123/relationships/owner', 'get_owner'],
    ['GET', '/users/***', 'current_user'],
  ];
  for (const [method, path, operation] of cases) assert.equal(virusTotalOperation(method, path), operation, `${method} ${path}`);
});

test('instrumented activities count outcomes, adoptions, drift repairs and rejected rules, and return or throw unchanged', async () => {
  const registry = new Registry();
  const metrics = createWorkerMetrics(registry);
  const activities = metrics.instrument({
    livehuntSettings: async () => ({ verifyIntervalMs: 1 }),
    ensureRuleset: async (outcome: string) => ({ rulesetId: '1', outcome }),
    verifyRuleset: async (status: string) => ({ status }),
    deleteRuleset: async () => 'absent' as const,
    updateRuleset: async () => {
      throw ApplicationFailure.create({ message: 'bad rule', type: INVALID_RULE, nonRetryable: true });
    },
  });
  assert.deepEqual(await activities.ensureRuleset('adopted'), { rulesetId: '1', outcome: 'adopted' });
  await activities.ensureRuleset('created');
  await activities.verifyRuleset('repaired');
  await activities.verifyRuleset('missing');
  assert.equal(await activities.deleteRuleset(), 'absent');
  await assert.rejects(activities.updateRuleset(), /bad rule/);
  await activities.livehuntSettings();
  metrics.virusTotalRequest({ method: 'POST', path: '/intelligence/hunting_rulesets', status: 429, seconds: 0.2 });
  metrics.virusTotalRequest({ method: 'GET', path: '/users/***', status: 'error', seconds: 10 });
  metrics.countRulesetsWith(async () => ({ active: 7, 'invalid-rule': 1, pending: 0 }));

  const text = await registry.metrics();
  assert.equal(sample(text, 'livehunt_activity_outcomes_total{activity="ensureRuleset",outcome="adopted"}'), 1);
  assert.equal(sample(text, 'livehunt_activity_outcomes_total{activity="ensureRuleset",outcome="created"}'), 1);
  assert.equal(sample(text, 'livehunt_activity_outcomes_total{activity="deleteRuleset",outcome="absent"}'), 1);
  assert.equal(sample(text, 'livehunt_activity_outcomes_total{activity="updateRuleset",outcome="failed:InvalidRule"}'), 1);
  assert.equal(sample(text, 'livehunt_rulesets_adopted_total'), 1);
  assert.equal(sample(text, 'livehunt_drift_repairs_total{kind="edited"}'), 1);
  assert.equal(sample(text, 'livehunt_drift_repairs_total{kind="deleted"}'), 1);
  assert.equal(sample(text, 'livehunt_invalid_rules_total'), 1);
  assert.doesNotMatch(text, /activity="livehuntSettings"/, 'bookkeeping is not VirusTotal work');
  assert.equal(sample(text, 'livehunt_virustotal_requests_total{operation="create_ruleset",status="429"}'), 1);
  assert.equal(sample(text, 'livehunt_virustotal_requests_total{operation="current_user",status="error"}'), 1);
  assert.equal(sample(text, 'livehunt_rulesets{status="active"}'), 7);
  assert.equal(sample(text, 'livehunt_rulesets{status="invalid-rule"}'), 1);
});

test("the starter's gauges are read when scraped: lag from the acknowledged stream id, the saved position's age", async () => {
  const registry = new Registry();
  const metrics = createStarterMetrics(registry);
  let acknowledged: string | undefined = `${Date.now() - 5_000}-0`;
  metrics.watch({ acknowledged: () => acknowledged, buffered: () => 12, waiting: () => 3, isPaused: () => true });
  metrics.saved(`${Date.now() - 60_000}-2`);
  metrics.frameReceived('create');
  metrics.frameReceived('some_future_event');
  metrics.handedToTemporal(2, performance.now() - 50);
  metrics.handedToTemporal(0, performance.now());
  metrics.reconnecting('silent');
  metrics.quarantined('unparsable pattern');
  metrics.paused();
  let text = await registry.metrics();
  const lag = sample(text, 'livehunt_starter_stream_lag_seconds')!;
  assert.ok(lag >= 5 && lag < 30, `lag ${lag}`);
  const age = sample(text, 'livehunt_starter_saved_position_age_seconds')!;
  assert.ok(age >= 60 && age < 90, `age ${age}`);
  assert.equal(sample(text, 'livehunt_starter_buffered_events'), 12);
  assert.equal(sample(text, 'livehunt_starter_events_waiting_for_temporal'), 3);
  assert.equal(sample(text, 'livehunt_starter_stream_paused'), 1);
  assert.equal(sample(text, 'livehunt_starter_stream_frames_total{event="other"}'), 1, 'unknown event names do not grow the label set');
  assert.equal(sample(text, 'livehunt_starter_events_handed_to_temporal_total'), 2);
  assert.equal(sample(text, 'livehunt_starter_delivery_latency_seconds_count'), 1, 'a frame without events is no delivery');
  assert.equal(sample(text, 'livehunt_starter_stream_reconnections_total{reason="silent"}'), 1);
  assert.equal(sample(text, 'livehunt_starter_events_quarantined_total{reason="unparsable pattern"}'), 1);
  acknowledged = `${Date.now()}-0`;
  text = await registry.metrics();
  assert.ok(sample(text, 'livehunt_starter_stream_lag_seconds')! < 5, 'the lag follows the position');
});

test("the HTTP port: /metrics with the SDK core's text appended, /healthz, /readyz with reasons, 404 elsewhere", async () => {
  const upstream = createServer((_req, res) =>
    res.end('# TYPE temporal_worker_task_slots_available gauge\ntemporal_worker_task_slots_available{worker_type="ActivityWorker"} 100\n'),
  );
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const registry = new Registry();
  createStarterMetrics(registry);
  const server = await startMetricsServer({
    port: 0,
    host: '127.0.0.1',
    registry,
    upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/metrics`,
    log: quiet,
  });
  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${server.port}${path}`);
    return { status: response.status, body: await response.text() };
  };
  try {
    const metrics = await get('/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /^# TYPE livehunt_starter_stream_lag_seconds gauge$/m);
    assert.match(metrics.body, /^temporal_worker_task_slots_available\{worker_type="ActivityWorker"\} 100$/m);
    assert.equal((await get('/healthz')).status, 200);
    assert.equal((await get('/readyz')).status, 503, 'nothing registered yet: not ready');
    let reading = false;
    server.readiness('stream', () => (reading ? undefined : 'not connected to the OpenCTI live stream'));
    server.readiness('temporal', async () => undefined);
    const notReady = await get('/readyz');
    assert.equal(notReady.status, 503);
    assert.deepEqual(JSON.parse(notReady.body), {
      status: 'not ready',
      checks: { stream: 'not connected to the OpenCTI live stream', temporal: 'ok' },
    });
    reading = true;
    assert.equal((await get('/readyz')).status, 200);
    server.readiness('hung', () => new Promise(() => {}));
    const hung = JSON.parse((await get('/readyz')).body) as { checks: Record<string, string> };
    assert.match(hung.checks.hung!, /no answer within/);
    assert.equal((await get('/other')).status, 404);
  } finally {
    await server.close();
    upstream.close();
  }
});
