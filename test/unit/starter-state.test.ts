/**
 * The connector state as pycti keeps it: first run, legacy keys, the snapshot floor, and the
 * state a "reset state" in the OpenCTI UI turns into.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConnectorState } from '../../starter/opencti-api';
import { firstRunState, normalizeStart, recoverParameter, snapshotFloor, stateAfterReset } from '../../starter/state';

const NOW = new Date('2025-03-05T08:00:00.456Z');
const NOW_MS = NOW.getTime();

test('first run as pycti: from the beginning with a snapshot up to now, or as configured', () => {
  assert.deepEqual(firstRunState({}, NOW), { start_from: '0-0', recover_until: '2025-03-05T08:00:00Z' });
  assert.deepEqual(firstRunState({ startTimestamp: '1741100000000' }, NOW), {
    start_from: '1741100000000-0',
    recover_until: '2025-03-05T08:00:00Z',
  });
  assert.deepEqual(firstRunState({ startTimestamp: '1741100000000-3', recoverIsoDate: '2025-03-01T00:00:00Z' }, NOW), {
    start_from: '1741100000000-3',
    recover_until: '2025-03-01T00:00:00Z',
  });
});

test('the pycti state shape, its legacy keys, and what counts as no state', () => {
  assert.deepEqual(parseConnectorState('{"start_from": "1741161720789-0", "recover_until": "2025-03-04T14:53:20Z"}'), {
    start_from: '1741161720789-0',
    recover_until: '2025-03-04T14:53:20Z',
  });
  assert.deepEqual(parseConnectorState('{"connectorLastEventId": "1741161720789-0", "connectorStartTime": "2025-03-04T14:53:20Z"}'), {
    start_from: '1741161720789-0',
    recover_until: '2025-03-04T14:53:20Z',
  });
  assert.deepEqual(parseConnectorState('{"start_from": "5-0", "recover_until": false}'), { start_from: '5-0', recover_until: false });
  for (const none of [null, undefined, '', 'null', '{}', 'not json']) assert.equal(parseConnectorState(none), undefined, String(none));
});

test('"no recover" spellings pycti accepts send no recover parameter', () => {
  for (const none of [false, 'None', 'no', 'False', ''] as const)
    assert.equal(recoverParameter({ start_from: '0-0', recover_until: none }), undefined, String(none));
  assert.equal(recoverParameter({ start_from: '0-0', recover_until: '2025-03-04T14:53:20Z' }), '2025-03-04T14:53:20Z');
});

test('start positions are read as the platform reads them', () => {
  assert.equal(normalizeStart('0'), '0-0');
  assert.equal(normalizeStart('12-3'), '12-3');
  assert.equal(normalizeStart('1741161600000'), '1741161600000-0');
  assert.equal(normalizeStart('2025-03-05T08:00:00.000Z'), '1741161600000-0');
  assert.equal(normalizeStart('soon'), undefined);
});

test('the snapshot floor exists only when the server will snapshot', () => {
  assert.equal(snapshotFloor({ start_from: '0-0', recover_until: '2025-03-05T08:00:00.000Z' }), '1741161600000-0');
  assert.equal(
    snapshotFloor({ start_from: '0', recover_until: '2025-03-05T08:00:00.000Z' }),
    '1741161600000-0',
    '"0" is the beginning too',
  );
  assert.equal(
    snapshotFloor({ start_from: '1741161600001-0', recover_until: '2025-03-05T08:00:00.000Z' }),
    undefined,
    'recover before the start: no snapshot',
  );
  assert.equal(snapshotFloor({ start_from: '0-0', recover_until: false }), undefined);
});

test('a reset in the live tail replays a snapshot that ends at the acknowledged position, then every later event', () => {
  const live = { start_from: '1741161000000-4', recover_until: '2025-03-01T00:00:00Z' };
  const after = stateAfterReset({}, live, '1741161000000-4', NOW);
  assert.deepEqual(after, { start_from: '0-0', recover_until: new Date(1741161000000).toISOString() });
  // The tail starts at <recover-ms>-0, exclusive: the acknowledged position's events are not skipped past.
  assert.ok(Date.parse(after.recover_until as string) <= 1741161000000);
});

test('a reset during a first-run snapshot replays the same snapshot', () => {
  const current = { start_from: '0-0', recover_until: '2025-03-05T07:00:00Z' };
  assert.deepEqual(stateAfterReset({}, current, '0-0', NOW), { start_from: '0-0', recover_until: '2025-03-05T07:00:00.000Z' });
});

test('a reset with nothing to lose is a plain first run', () => {
  assert.deepEqual(stateAfterReset({}, { start_from: '0-0', recover_until: false }, '0-0', NOW), firstRunState({}, NOW));
  // A configured recover date older than the position already replays everything after it.
  const configured = { recoverIsoDate: '2025-01-01T00:00:00Z' };
  assert.deepEqual(
    stateAfterReset(configured, { start_from: `${NOW_MS - 1000}-0`, recover_until: false }, `${NOW_MS - 1000}-0`, NOW),
    firstRunState(configured, NOW),
  );
  // A position in the future of this clock: "now" is the earlier bound.
  assert.deepEqual(stateAfterReset({}, { start_from: `${NOW_MS + 60_000}-0` }, `${NOW_MS + 60_000}-0`, NOW), firstRunState({}, NOW));
});
