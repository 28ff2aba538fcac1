/**
 * The dispatcher between the stream and Temporal: per-indicator order with many indicators
 * interleaved, a bound on concurrent deliveries, and retries that never drop an event.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger } from '../../common/logger';
import type { IndicatorEvent } from '../../domain/indicator';
import { IndicatorDispatcher } from '../../starter/dispatcher';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

function event(internalId: string, seq: number): IndicatorEvent {
  return {
    kind: 'upsert',
    streamId: `${1000 + seq}-0`,
    source: 'update',
    indicator: {
      internalId,
      stixId: `indicator--${internalId}`,
      name: internalId,
      pattern: `rule r${seq} { condition: true }`,
      detection: true,
      revoked: false,
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('events of one indicator arrive in stream order, many indicators interleaved, never more than the bound at once', async () => {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const received = new Map<string, number[]>();
  let inFlight = 0;
  let maxSeen = 0;
  const perIndicatorInFlight = new Map<string, number>();
  const dispatcher = new IndicatorDispatcher({
    maxInFlight: 5,
    log: quiet,
    deliver: async (e) => {
      inFlight++;
      maxSeen = Math.max(maxSeen, inFlight);
      const mine = (perIndicatorInFlight.get(e.indicator.internalId) ?? 0) + 1;
      perIndicatorInFlight.set(e.indicator.internalId, mine);
      assert.equal(mine, 1, `two events of ${e.indicator.internalId} in flight at once`);
      await sleep(Math.floor(next() * 8));
      received.set(e.indicator.internalId, [...(received.get(e.indicator.internalId) ?? []), Number(e.streamId.split('-')[0])]);
      perIndicatorInFlight.set(e.indicator.internalId, mine - 1);
      inFlight--;
    },
  });
  const sent = new Map<string, number[]>();
  const submissions: Array<Promise<void>> = [];
  for (let seq = 0; seq < 400; seq++) {
    const id = `ind-${Math.floor(next() * 25)}`;
    sent.set(id, [...(sent.get(id) ?? []), 1000 + seq]);
    submissions.push(dispatcher.submit([event(id, seq)]));
  }
  await Promise.all(submissions);
  assert.deepEqual(received, sent, 'every event delivered once, in stream order per indicator');
  assert.ok(maxSeen <= 5, `at most 5 deliveries at once, saw ${maxSeen}`);
  assert.ok(maxSeen > 1, 'different indicators do travel in parallel');
  assert.equal(dispatcher.pending(), 0);
});

test('a failing delivery is retried until accepted; the next event of that indicator waits, others do not', async () => {
  const delivered: string[] = [];
  let failures = 0;
  const dispatcher = new IndicatorDispatcher({
    maxInFlight: 4,
    log: quiet,
    retryDelayMs: () => 5,
    deliver: async (e) => {
      if (e.indicator.internalId === 'flaky' && e.streamId === '1000-0' && failures < 5) {
        failures++;
        throw new Error('Temporal unreachable');
      }
      delivered.push(`${e.indicator.internalId}@${e.streamId}`);
    },
  });
  let firstDone = false;
  const first = dispatcher.submit([event('flaky', 0)]).then(() => (firstDone = true));
  const second = dispatcher.submit([event('flaky', 1)]);
  await dispatcher.submit([event('steady', 2)]);
  assert.deepEqual(delivered, ['steady@1002-0'], 'another indicator is not held up');
  assert.equal(firstDone, false, 'the frame is not acknowledged while its event is undelivered');
  assert.equal(dispatcher.pending(), 2);
  await Promise.all([first, second]);
  assert.equal(failures, 5);
  assert.deepEqual(delivered, ['steady@1002-0', 'flaky@1000-0', 'flaky@1001-0']);
});

test('stop() abandons undelivered events: their frames stay unacknowledged', async () => {
  const dispatcher = new IndicatorDispatcher({
    maxInFlight: 1,
    log: quiet,
    retryDelayMs: () => 5,
    deliver: async () => {
      throw new Error('Temporal unreachable');
    },
  });
  const outcome = dispatcher.submit([event('a', 0)]).then(
    () => 'acknowledged',
    () => 'abandoned',
  );
  await sleep(20);
  dispatcher.stop();
  assert.equal(await outcome, 'abandoned');
  assert.equal(dispatcher.pending(), 0);
});

test('an event Temporal refuses for good is quarantined once and counts as handled; the events after it go on', async () => {
  const attempts = new Map<string, number>();
  const quarantined: Array<{ streamId: string; reason: string }> = [];
  const delivered: string[] = [];
  const dispatcher = new IndicatorDispatcher({
    maxInFlight: 2,
    log: quiet,
    retryDelayMs: () => 1,
    deliver: async (e) => {
      attempts.set(e.streamId, (attempts.get(e.streamId) ?? 0) + 1);
      if (e.indicator.internalId === 'poison') throw Object.assign(new Error('refused'), { permanent: 'Blob data size exceeds limit.' });
      if (e.streamId === '1002-0' && attempts.get(e.streamId) === 1) throw new Error('unavailable');
      delivered.push(e.streamId);
    },
    permanentRefusal: (error) => (error as { permanent?: string }).permanent,
    quarantine: async (e, reason) => {
      quarantined.push({ streamId: e.streamId, reason });
    },
  });
  await dispatcher.submit([event('poison', 1), event('ok', 2), event('poison', 3), event('ok', 4)]);
  assert.deepEqual(quarantined, [
    { streamId: '1001-0', reason: 'Blob data size exceeds limit.' },
    { streamId: '1003-0', reason: 'Blob data size exceeds limit.' },
  ]);
  assert.equal(attempts.get('1001-0'), 1, 'a permanent refusal is not retried');
  assert.equal(attempts.get('1002-0'), 2, 'a transient failure still is');
  assert.deepEqual(delivered, ['1002-0', '1004-0']);
  assert.equal(dispatcher.quarantined(), 2);
  assert.equal(dispatcher.pending(), 0);
});
