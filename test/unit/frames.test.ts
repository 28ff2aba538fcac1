import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interpretFrame, OPENCTI_EXTENSION, streamLastEventId } from '../../starter/frames';

function indicator(overrides: Record<string, unknown> = {}, extension: Record<string, unknown> = {}) {
  return {
    id: 'indicator--3f9c2d7e-8a41-5b6c-9d20-4e7f1a2b3c4d',
    type: 'indicator',
    name: 'ACME_Loader_Strings',
    pattern_type: 'yara',
    pattern: 'rule ACME { condition: true }',
    extensions: { [OPENCTI_EXTENSION]: { id: 'd25d3c3c-4c30-473a-859d-8dfb3650b3d1', type: 'Indicator', detection: true, ...extension } },
    ...overrides,
  };
}

const frame = (data: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ version: '4', type: 'create', scope: 'external', origin: {}, data, ...extra });

test('a YARA indicator create becomes an upsert keyed on the internal id', () => {
  const meaning = interpretFrame('create', '10-0', frame(indicator()));
  assert.equal(meaning.kind, 'events');
  if (meaning.kind !== 'events') return;
  assert.deepEqual(meaning.events, [
    {
      kind: 'upsert',
      streamId: '10-0',
      source: 'create',
      indicator: {
        internalId: 'd25d3c3c-4c30-473a-859d-8dfb3650b3d1',
        stixId: 'indicator--3f9c2d7e-8a41-5b6c-9d20-4e7f1a2b3c4d',
        name: 'ACME_Loader_Strings',
        pattern: 'rule ACME { condition: true }',
        detection: true,
        revoked: false,
      },
    },
  ]);
});

test('dispatch is on the SSE event name: a delete frame carrying an update envelope is a delete', () => {
  const meaning = interpretFrame('delete', '11-0', frame(indicator(), { type: 'update', context: { patch: [], reverse_patch: [] } }));
  assert.equal(meaning.kind === 'events' && meaning.events[0]?.kind, 'delete');
});

test('detection false and revoked are read from the indicator', () => {
  const off = interpretFrame('update', '12-0', frame(indicator({}, { detection: false })));
  assert.equal(off.kind === 'events' && off.events[0]?.indicator.detection, false);
  const revoked = interpretFrame('update', '13-0', frame(indicator({ revoked: true })));
  assert.equal(revoked.kind === 'events' && revoked.events[0]?.indicator.revoked, true);
});

test('non-YARA objects, dependency frames and unknown events are ignored', () => {
  assert.equal(interpretFrame('create', '1-0', frame(indicator({ pattern_type: 'stix' }))).kind, 'ignored');
  assert.equal(interpretFrame('create', '1-0', frame({ id: 'malware--1', type: 'malware', name: 'x' })).kind, 'ignored');
  assert.equal(interpretFrame('create', '1-0', frame(indicator(), { origin: { referer: 'init-dependencies' } })).kind, 'ignored');
  assert.equal(interpretFrame('consumer_metrics', '1-0', '{}').kind, 'ignored');
  assert.equal(interpretFrame('heartbeat', '1-0', '"2025-03-05T08:00:00.000Z"').kind, 'heartbeat');
});

test('the delete of an indicator that is no longer YARA reaches a running workflow only', () => {
  // What a stream filtered on YARA sends when an indicator's pattern type changes.
  const meaning = interpretFrame(
    'delete',
    '14-0',
    frame(indicator({ pattern_type: 'stix', pattern: "[file:name = 'x']" }), { type: 'update' }),
  );
  assert.deepEqual(meaning, {
    kind: 'events',
    events: [
      {
        kind: 'delete',
        streamId: '14-0',
        source: 'delete',
        indicator: {
          internalId: 'd25d3c3c-4c30-473a-859d-8dfb3650b3d1',
          stixId: 'indicator--3f9c2d7e-8a41-5b6c-9d20-4e7f1a2b3c4d',
          name: 'ACME_Loader_Strings',
          pattern: '',
          detection: false,
          revoked: false,
        },
      },
    ],
    onlyIfRunning: true,
  });
  const yara = interpretFrame('delete', '15-0', frame(indicator()));
  assert.equal(
    yara.kind === 'events' && yara.onlyIfRunning,
    undefined,
    'a YARA delete may start a workflow (a ruleset the Python connector made)',
  );
  assert.equal(interpretFrame('update', '16-0', frame(indicator({ pattern_type: 'stix' }))).kind, 'ignored');
  assert.equal(interpretFrame('delete', '17-0', frame({ id: 'malware--1', type: 'malware', name: 'x' })).kind, 'ignored');
});

test('malformed frames say why', () => {
  const notJson = interpretFrame('create', '1-0', '{oops');
  assert.deepEqual(notJson, { kind: 'malformed', reason: 'data is not JSON' });
  const noInternalId = interpretFrame('create', '1-0', frame({ ...indicator(), extensions: {} }));
  assert.equal(noInternalId.kind, 'malformed');
  assert.match(noInternalId.kind === 'malformed' ? noInternalId.reason : '', /internal id/);
  const noData = interpretFrame('update', '1-0', JSON.stringify({ version: '4' }));
  assert.equal(noData.kind, 'malformed');
});

test('a merge deletes the absorbed indicators and upserts the target', () => {
  const source = indicator({ id: 'indicator--0b1c', name: 'Other' }, { id: 'e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b' });
  const meaning = interpretFrame(
    'merge',
    '20-0',
    frame(indicator(), { type: 'merge', context: { patch: [], reverse_patch: [], sources: [source] } }),
  );
  assert.equal(meaning.kind, 'events');
  if (meaning.kind !== 'events') return;
  assert.deepEqual(
    meaning.events.map((event) => [event.kind, event.indicator.internalId]),
    [
      ['delete', 'e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b'],
      ['upsert', 'd25d3c3c-4c30-473a-859d-8dfb3650b3d1'],
    ],
  );
});

test('a merge whose target lacks its pattern still deletes the absorbed indicators', () => {
  const source = indicator({ id: 'indicator--0b1c', name: 'Other' }, { id: 'e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b' });
  const { pattern: _pattern, ...target } = indicator();
  const meaning = interpretFrame(
    'merge',
    '21-0',
    frame(target, { type: 'merge', context: { patch: [], reverse_patch: [], sources: [source] } }),
  );
  assert.equal(meaning.kind, 'events');
  if (meaning.kind !== 'events') return;
  assert.deepEqual(
    meaning.events.map((event) => [event.kind, event.indicator.internalId]),
    [['delete', 'e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b']],
  );
  assert.match(meaning.skipped ?? '', /no pattern/);
});

test('the connected frame tells where the stream stood when the connection opened', () => {
  assert.equal(
    streamLastEventId(JSON.stringify({ lastEventId: '1741161720789-3', firstEventId: '0-0', connectionId: 'c1' })),
    '1741161720789-3',
  );
  assert.equal(streamLastEventId('{oops'), undefined);
  assert.equal(streamLastEventId(JSON.stringify({ lastEventId: 'not-an-id' })), undefined);
  assert.equal(streamLastEventId(JSON.stringify({ connectionId: 'c1' })), undefined);
});
