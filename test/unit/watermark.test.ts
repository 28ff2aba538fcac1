import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StreamWatermark } from '../../starter/watermark';

test('an acknowledged frame is claimed only once a greater id has arrived', () => {
  const watermark = new StreamWatermark('0-0');
  watermark.frame('100-0').done();
  assert.equal(watermark.position(), '0-0', 'id 100-0 may still have frames to come (dependencies share ids)');
  watermark.frame('101-0');
  assert.equal(watermark.position(), '100-0');
});

test('a heartbeat completes its id', () => {
  const watermark = new StreamWatermark(undefined);
  watermark.frame('5-0').done();
  watermark.heartbeat('5-0');
  assert.equal(watermark.position(), '5-0');
});

test('a dependency frame sharing the id of a pending indicator frame does not move the position', () => {
  const watermark = new StreamWatermark('1-0');
  watermark.frame('10-0').done(); // dependency (ignored, acknowledged at once)
  const indicator = watermark.frame('10-0'); // the indicator event itself, in flight
  watermark.frame('11-0').done();
  assert.equal(watermark.position(), '1-0', 'saving 10-0 would make a crash skip the indicator event');
  assert.equal(watermark.resumeFrom(), '10-0', 'every frame of 10-0 was received');
  indicator.done();
  assert.equal(watermark.position(), '10-0');
});

test('an unacknowledged frame holds back everything after it', () => {
  const watermark = new StreamWatermark('0-0');
  const slow = watermark.frame('1-0');
  watermark.frame('2-0').done();
  watermark.frame('3-0').done();
  watermark.heartbeat('3-0');
  assert.equal(watermark.position(), '0-0');
  slow.done();
  assert.equal(watermark.position(), '3-0');
  assert.equal(watermark.inFlight(), 0);
});

test('recover snapshot frames are never claimed, whatever their order', () => {
  const watermark = new StreamWatermark('0-0', '1000-0');
  watermark.frame('300-0').done();
  watermark.frame('100-0').done();
  watermark.heartbeat('300-0');
  watermark.frame('200-0').done();
  assert.equal(watermark.position(), '0-0', 'a crash mid-snapshot must replay the snapshot');
  watermark.frame('1500-0').done();
  watermark.heartbeat('1500-0');
  assert.equal(watermark.position(), '1500-0');
});

test('a pending snapshot frame holds back live frames too', () => {
  const watermark = new StreamWatermark('0-0', '1000-0');
  const snapshot = watermark.frame('300-0');
  watermark.frame('1500-0').done();
  watermark.heartbeat('1600-0');
  assert.equal(watermark.position(), '0-0');
  snapshot.done();
  assert.equal(watermark.position(), '1600-0');
});

test('ids compare numerically, not as text', () => {
  const watermark = new StreamWatermark('9-0');
  watermark.frame('10-0').done();
  watermark.heartbeat('10-0');
  assert.equal(watermark.position(), '10-0');
});

test('a barrier at the snapshot floor keeps the live tail unclaimed until it is lifted', () => {
  const watermark = new StreamWatermark('0-0', '500-0');
  const barrier = watermark.barrier('500-0');
  watermark.frame('300-0').done(); // snapshot
  watermark.frame('501-0').done(); // live tail
  watermark.heartbeat('502-0');
  assert.equal(watermark.position(), '0-0', 'the sweep the snapshot calls for is not with Temporal yet');
  assert.equal(watermark.resumeFrom(), '502-0', 'a reconnection still resumes past the snapshot');
  assert.equal(watermark.pastSnapshot(), true);
  assert.equal(watermark.inFlight(), 0, 'a barrier is no frame in flight: back-pressure must not wait for it');
  assert.equal(watermark.held(), 2, 'only the live-tail frame and heartbeat queued behind it count');
  barrier.done();
  assert.equal(watermark.position(), '502-0');
  assert.equal(watermark.inFlight(), 0);
});
