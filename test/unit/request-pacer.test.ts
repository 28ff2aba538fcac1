import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { RequestPacer } from '../../activities/request-pacer';

// On mocked time: what is checked is the schedule the pacer hands out, not how late a loaded
// machine fires its timers.
test('requests are spaced so that no second holds more than the budget', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  try {
    const pacer = new RequestPacer(50);
    const sentAt: number[] = [];
    // Callers arrive together, as activities admitted in one burst do.
    const all = Promise.all(
      Array.from({ length: 60 }, async () => {
        await pacer.take();
        sentAt.push(Date.now());
      }),
    );
    for (let elapsed = 0; elapsed < 2_000 && sentAt.length < 60; elapsed++) {
      mock.timers.tick(1);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await all;
    sentAt.sort((a, b) => a - b);
    assert.equal(sentAt.length, 60);
    for (let i = 50; i < sentAt.length; i++) {
      // 50 per second (with the default margin below it): the 51st request after any other comes more than a second later.
      assert.ok(sentAt[i]! - sentAt[i - 50]! > 1000, `requests ${i - 50} and ${i} are ${sentAt[i]! - sentAt[i - 50]!} ms apart`);
    }
    assert.ok(sentAt[59]! - sentAt[0]! < 1300, 'and not slower than the budget needs');
  } finally {
    mock.timers.reset();
  }
});
