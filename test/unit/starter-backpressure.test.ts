/**
 * Back-pressure (starter/backpressure.ts): the stream pauses past the bound once the recover
 * snapshot is over, never during it, and resumes when deliveries caught up with half of it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger } from '../../common/logger';
import { BackPressure } from '../../starter/backpressure';
import { StreamWatermark } from '../../starter/watermark';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

function setup(floor?: string) {
  const watermark = new StreamWatermark('0-0', floor);
  let paused = false;
  let pending = 0;
  const stream = { pause: () => (paused = true), resume: () => (paused = false), isPaused: () => paused };
  const backPressure = new BackPressure({
    stream,
    watermark: () => watermark,
    pendingDeliveries: () => pending,
    maxBuffered: 4,
    log: quiet,
  });
  return { watermark, backPressure, isPaused: () => paused, setPending: (n: number) => (pending = n) };
}

test('pauses past the bound and resumes once half of it is delivered', () => {
  const { watermark, backPressure, isPaused, setPending } = setup();
  const tickets = Array.from({ length: 4 }, (_, i) => watermark.frame(`${10 + i}-0`));
  setPending(4);
  backPressure.afterFrame();
  assert.equal(isPaused(), true);
  backPressure.check();
  assert.equal(isPaused(), true, 'nothing delivered yet');
  for (const ticket of tickets.slice(0, 3)) ticket.done();
  setPending(1);
  watermark.heartbeat('13-0');
  backPressure.check();
  assert.equal(isPaused(), false, 'one of four still waiting: under half the bound');
});

test('never pauses during a recover snapshot, which a reconnection would send again', () => {
  const { watermark, backPressure, isPaused, setPending } = setup('100-0');
  for (let i = 0; i < 6; i++) watermark.frame(`${50 + i}-0`);
  setPending(6);
  backPressure.afterFrame();
  assert.equal(isPaused(), false);
});
