/**
 * Determinism guard: histories recorded from earlier versions replay with today's workflow code.
 * Refresh them (only when a change is deliberately incompatible and versioned) with
 * `npx tsx test/e2e/continue-as-new.test.ts --record`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadRecordedHistories, replayAll } from '../support/histories';

test('recorded histories replay without non-determinism', async () => {
  const histories = loadRecordedHistories();
  assert.ok(histories.length >= 3, 'the recorded histories are present');
  assert.deepEqual(await replayAll(histories), []);
});
