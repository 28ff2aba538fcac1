import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestPacer } from '../../activities/request-pacer';

test('requests are spaced so that no second holds more than the budget', async () => {
  const pacer = new RequestPacer(50);
  const sentAt: number[] = [];
  // Callers arrive together, as activities admitted in one burst do.
  await Promise.all(Array.from({ length: 60 }, async () => {
    await pacer.take();
    sentAt.push(Date.now());
  }));
  sentAt.sort((a, b) => a - b);
  for (let i = 50; i < sentAt.length; i++) {
    // 50 per second (with the default margin below it): the 51st request after any other comes more than a second later.
    assert.ok(sentAt[i]! - sentAt[i - 50]! > 1000, `requests ${i - 50} and ${i} are ${sentAt[i]! - sentAt[i - 50]!} ms apart`);
  }
});
