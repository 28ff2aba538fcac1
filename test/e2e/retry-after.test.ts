/**
 * A 429 whose Retry-After asks for three years: through the real worker and Temporal, the next
 * attempt is scheduled within the retry policy's 2 minutes, and the ruleset is made once it runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_RETRY_AFTER_MS } from '../../activities/virustotal-client';
import { waitFor } from '../support/processes';
import { Stack } from '../support/stack';
import { useTestTemporal } from '../support/temporal';
import { rule } from '../support/yara';

const temporal = useTestTemporal();

const seconds = (timestamp: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  timestamp ? Number(timestamp.seconds ?? 0) + (timestamp.nanos ?? 0) / 1e9 : undefined;

test('Retry-After: 99999999 schedules the next attempt at most 2 minutes later, and the create then happens', async () => {
  const stack = await Stack.start(temporal());
  try {
    stack.vt.injectFault({
      method: 'POST',
      path: '/intelligence/hunting_rulesets',
      status: 429,
      code: 'QuotaExceededError',
      retryAfterSeconds: 99_999_999,
      times: 1,
    });
    const { internalId, eventId } = stack.opencti.createIndicator({ name: 'Slow_Down', pattern: rule('Slow_Down') });
    const pending = await waitFor('the activity waiting for its next attempt', async () => {
      const { raw } = await stack.handle(internalId).describe();
      return raw.pendingActivities?.find((activity) => activity.lastFailure && activity.nextAttemptScheduleTime);
    });
    const failedAt = seconds(pending.lastAttemptCompleteTime) ?? Date.now() / 1000;
    const next = seconds(pending.nextAttemptScheduleTime)!;
    const waitMs = (next - failedAt) * 1000;
    process.stdout.write(`# next attempt ${Math.round(waitMs / 1000)} s after the 429\n`);
    assert.ok(waitMs <= MAX_RETRY_AFTER_MS + 1_000, `next attempt ${Math.round(waitMs / 1000)} s after the 429`);
    assert.ok(waitMs >= MAX_RETRY_AFTER_MS - 5_000, 'Retry-After is honoured up to the cap, not ignored');
    const state = await stack.applied(internalId, eventId, MAX_RETRY_AFTER_MS + 60_000);
    assert.equal(state.status, 'active');
    assert.equal(stack.rulesetsNamed('Slow_Down').length, 1);
  } finally {
    await stack.stop();
  }
});
