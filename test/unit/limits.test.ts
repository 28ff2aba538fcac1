/**
 * The bounds applied before anything reaches Temporal, and the classification of Temporal's own
 * refusals (gRPC status and message, as the client surfaces them).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internalIdProblem, isWellFormed, truncateUtf8, utf8Length } from '../../domain/limits';
import { permanentRefusal } from '../../starter/delivery';
import { interpretFrame, OPENCTI_EXTENSION } from '../../starter/frames';

test('UTF-8 lengths and truncation on character boundaries', () => {
  assert.equal(utf8Length('aÄ€😀'), 1 + 2 + 3 + 4);
  assert.equal(utf8Length('\ud800'), 3);
  const cut = truncateUtf8('😀'.repeat(1000), 1024);
  assert.ok(utf8Length(cut) <= 1024);
  assert.ok(cut.endsWith('…'));
  assert.ok(isWellFormed(cut), 'never splits a surrogate pair');
  assert.equal(truncateUtf8('short', 1024), 'short');
  assert.equal(truncateUtf8('a\ud800b', 1024), 'a\ufffdb', 'lone surrogates are replaced');
});

test('internal ids that cannot key a workflow say why', () => {
  assert.equal(internalIdProblem('d25d3c3c-4c30-473a-859d-8dfb3650b3d1'), undefined);
  assert.match(internalIdProblem('x'.repeat(2000))!, /2000 characters long/);
  assert.match(internalIdProblem('a\udc00b')!, /lone UTF-16 surrogate/);
  assert.match(internalIdProblem('a\nb')!, /control or space/);
  assert.match(internalIdProblem('')!, /empty/);
});

const grpc = (code: number, details: string) => ({ cause: Object.assign(new Error(details), { code, details, metadata: {} }) });

test('Temporal refusals that sending again cannot fix are permanent; outages are not', () => {
  assert.equal(permanentRefusal(grpc(3, 'Blob data size exceeds limit.')), 'Blob data size exceeds limit.');
  assert.equal(
    permanentRefusal(grpc(3, 'WorkflowId exceeds maximum allowed length (2000/1000)')),
    'WorkflowId exceeds maximum allowed length (2000/1000)',
  );
  assert.match(permanentRefusal(grpc(8, 'grpc: received message larger than max (5000354 vs. 4194304)'))!, /larger than max/);
  assert.match(permanentRefusal(grpc(13, 'grpc: error unmarshalling request: string field contains invalid UTF-8'))!, /UTF-8/);
  assert.equal(permanentRefusal(grpc(8, 'namespace rate limit exceeded')), undefined);
  assert.equal(permanentRefusal(grpc(14, 'unavailable')), undefined);
  assert.equal(permanentRefusal(grpc(4, 'deadline exceeded')), undefined);
  assert.equal(permanentRefusal(grpc(5, 'namespace default not found')), undefined);
  assert.equal(permanentRefusal(new Error('socket hang up')), undefined);
});

const yara = (internalId: string, extra: Record<string, unknown> = {}) => ({
  id: 'indicator--3f9c2d7e-8a41-5b6c-9d20-4e7f1a2b3c4d',
  type: 'indicator',
  name: 'ACME',
  pattern_type: 'yara',
  pattern: 'rule ACME { condition: true }',
  extensions: { [OPENCTI_EXTENSION]: { id: internalId, detection: true } },
  ...extra,
});
const frame = (data: unknown, context?: unknown) =>
  JSON.stringify({ version: '4', type: 'create', scope: 'external', origin: {}, data, context });

test('a pattern over VirusTotal’s limit is not carried: the event says why', () => {
  const meaning = interpretFrame(
    'create',
    '5-0',
    frame(yara('id-1', { pattern: `rule Big { strings: $a = "${'x'.repeat(1_100_000)}" condition: $a }` })),
  );
  assert.equal(meaning.kind, 'events');
  if (meaning.kind !== 'events') return;
  assert.equal(meaning.events[0]!.indicator.pattern, '');
  assert.match(meaning.events[0]!.indicator.patternRefused!, /VirusTotal accepts at most 1048576 bytes/);
});

test('a pattern that would be too large once escaped as JSON is not carried either', () => {
  const meaning = interpretFrame(
    'create',
    '5-0',
    frame(yara('id-1', { pattern: `rule Quotes { strings: $a = "${'\\"'.repeat(400_000)}" condition: $a }` })),
  );
  assert.equal(meaning.kind === 'events' && meaning.events[0]!.indicator.patternRefused !== undefined, true);
});

test('a merge keeps the sources it can identify; a delete needs only the internal id', () => {
  const merge = interpretFrame(
    'merge',
    '6-0',
    frame(yara('target'), { sources: [yara('source-a'), { id: 'indicator--x', type: 'indicator' }, 'junk', yara('source-b')] }),
  );
  assert.equal(merge.kind, 'events');
  if (merge.kind !== 'events') return;
  assert.deepEqual(
    merge.events.map((e) => [e.kind, e.indicator.internalId]),
    [
      ['delete', 'source-a'],
      ['delete', 'source-b'],
      ['upsert', 'target'],
    ],
  );
  assert.match(merge.skipped!, /merge source indicator--x has no OpenCTI internal id/);
  assert.match(merge.skipped!, /not a STIX object/);

  const nullDetection = yara('id-2', { name: null });
  (nullDetection.extensions[OPENCTI_EXTENSION] as Record<string, unknown>).detection = null;
  const deleted = interpretFrame('delete', '7-0', frame(nullDetection));
  assert.equal(deleted.kind === 'events' && deleted.events[0]?.kind, 'delete');
  assert.equal(deleted.kind === 'events' && deleted.events[0]?.indicator.internalId, 'id-2');
});
