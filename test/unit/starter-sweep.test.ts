import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger } from '../../common/logger';
import { ABSENT_FROM_SNAPSHOT, type IndicatorEvent } from '../../domain/indicator';
import { SnapshotSweep, type RunningIndicator } from '../../starter/sweep';
import { StreamWatermark } from '../../starter/watermark';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

function setup(running: RunningIndicator[], options: { failListing?: number; submit?: (events: IndicatorEvent[]) => Promise<void> } = {}) {
  const watermark = new StreamWatermark('0-0', '500-0');
  const submitted: IndicatorEvent[][] = [];
  let listings = 0;
  let failures = options.failListing ?? 0;
  const sweep = new SnapshotSweep({
    floor: '500-0',
    barrier: watermark.barrier('500-0'),
    async *listRunning() {
      listings++;
      if (failures-- > 0) throw new Error('visibility unavailable');
      yield* running;
    },
    submit: options.submit ?? (async (events) => void submitted.push(events)),
    log: quiet,
    retryDelayMs: () => 1,
  });
  return { watermark, sweep, submitted, listings: () => listings };
}

test('only running workflows the replay never mentioned are told their indicator is gone, at the floor', async () => {
  const { watermark, sweep, submitted } = setup([
    { internalId: 'seen-in-snapshot', name: 'A' },
    { internalId: 'seen-in-live-tail', name: 'B' },
    { internalId: 'gone', name: 'C' },
  ]);
  sweep.saw('seen-in-snapshot');
  sweep.observed('300-0', false);
  sweep.saw('seen-in-live-tail');
  sweep.observed('501-0', true);
  await settle();
  assert.deepEqual(submitted, [
    [
      {
        kind: 'delete',
        streamId: '500-0',
        source: ABSENT_FROM_SNAPSHOT,
        indicator: { internalId: 'gone', stixId: '', name: 'C', pattern: '', detection: false, revoked: false },
      },
    ],
  ]);
  assert.equal(sweep.pending(), false);
  watermark.heartbeat('501-0');
  assert.equal(watermark.position(), '501-0', 'the barrier is lifted once the deletions are with Temporal');
});

test('nothing is swept while the snapshot is still arriving, even on heartbeats', async () => {
  const { sweep, submitted, listings } = setup([{ internalId: 'later-in-snapshot', name: 'A' }]);
  sweep.observed('100-0', true);
  sweep.observed('500-0', true);
  sweep.observed('200-0', false);
  await settle();
  assert.equal(listings(), 0);
  assert.deepEqual(submitted, []);
  assert.equal(sweep.pending(), true);
});

test('the replay is whole once read up to where the stream stood at connection time', async () => {
  const { sweep, listings } = setup([]);
  sweep.connected('900-0');
  sweep.observed('501-0', true);
  sweep.observed('899-5', false);
  await settle();
  assert.equal(listings(), 0, 'an indicator changed after the recover date may still be ahead in the live tail');
  sweep.connected('950-0'); // a reconnection: read further
  sweep.observed('920-0', true);
  await settle();
  assert.equal(listings(), 0);
  sweep.observed('950-0', false);
  await settle();
  assert.equal(listings(), 1);
  sweep.observed('960-0', true);
  await settle();
  assert.equal(listings(), 1, 'one sweep per replay');
});

test('without the connection mark, a heartbeat past the floor is the sign; a frame is not', async () => {
  const { sweep, listings } = setup([]);
  sweep.connected(undefined);
  sweep.observed('501-0', false);
  await settle();
  assert.equal(listings(), 0);
  sweep.observed('502-0', true);
  await settle();
  assert.equal(listings(), 1);
});

test('a failed listing is retried, and the position stays held until it succeeds', async () => {
  const { watermark, sweep, submitted, listings } = setup([{ internalId: 'gone', name: 'C' }], { failListing: 2 });
  watermark.frame('501-0').done();
  watermark.heartbeat('501-0');
  sweep.observed('501-0', true);
  await settle();
  await settle();
  assert.equal(listings(), 3);
  assert.equal(submitted.length, 1);
  assert.equal(watermark.position(), '501-0');
});

test('an abandoned sweep (a new reset, a stop) never lifts the barrier', async () => {
  let release!: () => void;
  const { watermark, sweep } = setup([{ internalId: 'gone', name: 'C' }], {
    submit: () => new Promise<void>((resolve) => (release = resolve)),
  });
  watermark.frame('501-0').done();
  watermark.heartbeat('501-0');
  sweep.observed('501-0', true);
  await settle();
  sweep.abandon();
  release();
  await settle();
  assert.equal(watermark.position(), '0-0', 'a restart must replay the snapshot and sweep again');
});

test('after the sweep, the ids the stream carries are no longer kept', async () => {
  const { sweep } = setup([]);
  sweep.observed('501-0', true);
  await settle();
  assert.equal(sweep.pending(), false);
  for (let i = 0; i < 1000; i++) sweep.saw(`later-${i}`);
  assert.equal(sweep.remembered(), 0);
});
