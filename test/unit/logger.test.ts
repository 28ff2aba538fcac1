/**
 * The log line format (pycti's shape), its level filter, secret masking and escaping, and the
 * mapping of the Temporal SDK's log calls onto it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogTimestamp } from '@temporalio/worker';
import { createLogger } from '../../common/logger';
import { sdkLogger } from '../../temporal/sdk-runtime';

function capture(level: 'debug' | 'info' | 'warn' | 'error', secrets: string[] = []) {
  const lines: string[] = [];
  const log = createLogger(level, { role: 'worker' }, { write: (line) => lines.push(line), secrets });
  return { log, lines, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

test("one JSON object per line with pycti's fields, in pycti's order", () => {
  const { log, lines, entries } = capture('info');
  log.child({ component: 'activities' }).warn('ruleset created', { rulesetId: '42' });
  assert.equal(lines.length, 1);
  assert.ok(lines[0]!.endsWith('\n') && !lines[0]!.slice(0, -1).includes('\n'));
  const [entry] = entries();
  assert.deepEqual(Object.keys(entry!), ['timestamp', 'level', 'name', 'message', 'attributes']);
  assert.equal(entry!.level, 'WARNING');
  assert.equal(entry!.name, 'virustotal-livehunt.worker.activities');
  assert.equal(entry!.message, 'ruleset created');
  assert.deepEqual(entry!.attributes, { rulesetId: '42' });
  assert.match(entry!.timestamp as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('entries below CONNECTOR_LOG_LEVEL are dropped', () => {
  const { log, entries } = capture('warn');
  log.debug('a');
  log.info('b');
  log.warn('c');
  log.error('d');
  assert.deepEqual(
    entries().map((e) => e.level),
    ['WARNING', 'ERROR'],
  );
  assert.equal(log.enabled('info'), false);
});

test('control characters, NUL included, are escaped; errors keep their message; cycles do not throw', () => {
  const { log, lines, entries } = capture('info');
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  log.info('bad\u0000name\u001b[31m\r\nnext', { error: new Error('boom'), cyclic, big: 10n });
  assert.doesNotMatch(lines[0]!.slice(0, -1), /[\u0000-\u001f]/);
  const [entry] = entries();
  assert.equal(entry!.message, 'bad\u0000name\u001b[31m\r\nnext');
  assert.deepEqual((entry!.attributes as Record<string, unknown>).error, { name: 'Error', message: 'boom' });
  assert.equal((entry!.attributes as Record<string, unknown>).big, '10');
});

test('configured secrets are masked wherever they appear, raw or URL-encoded', () => {
  const secret = 'vt-key/with+chars';
  const { log, lines } = capture('info', [secret]);
  log.error(`GET /users/${encodeURIComponent(secret)}: 401`, { header: secret, nested: { again: `x-apikey: ${secret}` } });
  assert.ok(!lines[0]!.includes(secret) && !lines[0]!.includes(encodeURIComponent(secret)), lines[0]);
  assert.equal(lines[0]!.split('***').length - 1, 3);
});

test("the SDK's entries: its levels, its component as the name, its own timestamp", () => {
  const { log, entries } = capture('info');
  const sdk = sdkLogger(log);
  const at = new Date('2026-01-02T03:04:05.678Z');
  sdk.trace('ignored');
  sdk.debug('ignored too');
  sdk.warn('Activity failed', { sdkComponent: 'worker', attempt: 2, [LogTimestamp]: BigInt(at.getTime()) * 1_000_000n });
  sdk.log('ERROR', 'core says', { sdkComponent: 'core', target: 'temporalio_sdk_core' });
  const [first, second] = entries();
  assert.equal(entries().length, 2);
  assert.deepEqual(first, {
    timestamp: at.toISOString(),
    level: 'WARNING',
    name: 'temporal.worker',
    message: 'Activity failed',
    attributes: { attempt: 2 },
  });
  assert.equal(second!.name, 'temporal.core');
  assert.equal(second!.level, 'ERROR');
});
