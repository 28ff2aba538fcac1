/**
 * pycti's own stream consumer (OpenCTIConnectorHelper, unmodified) against the OpenCTI
 * emulator, with a pinned version of each supported line: it must pass its health check,
 * register, ping, receive create/update/delete/merge (the shared marking once per
 * connection), save its state through pingConnector and resume from it after a restart.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startOpenCtiEmulator, TLP_GREEN_ID, type OpenCtiEmulator } from '../../emulators/opencti';
import { clientPython, ClientProcess, type ClientName } from '../support/clients/python-client';

const PYCTI_LINES: Record<string, { venv: ClientName; version: RegExp }> = {
  'pycti 6.8': { venv: 'pycti6', version: /^6\.8\./ },
  'pycti 7.x': { venv: 'pycti7', version: /^7\./ },
};

const rule = (name: string) => `rule ${name} { strings: $a = "${name}" condition: $a }`;

function consumer(python: string, opencti: OpenCtiEmulator, connectorId: string, expectEvents: number): ClientProcess {
  return new ClientProcess(python, 'stream_consumer.py', {
    OPENCTI_URL: opencti.url,
    OPENCTI_TOKEN: opencti.token,
    CONNECTOR_ID: connectorId,
    CONNECTOR_TYPE: 'STREAM',
    CONNECTOR_NAME: 'VirusTotal LiveHunts',
    CONNECTOR_SCOPE: 'yara',
    CONNECTOR_LIVE_STREAM_ID: opencti.streamId,
    CONNECTOR_LIVE_STREAM_LISTEN_DELETE: 'true',
    CONNECTOR_LIVE_STREAM_NO_DEPENDENCIES: 'true',
    CONNECTOR_LOG_LEVEL: 'info',
    CLIENT_EXPECT_EVENTS: String(expectEvents),
    CLIENT_TIMEOUT_SECONDS: '60',
  });
}

/** `init-create` / `init-dependencies` for frames the platform makes up; live events carry the user's page. */
const origin = (e: Record<string, any>) => (String(e['referer']).startsWith('init-') ? e['referer'] : null);
const summary = (e: Record<string, any>) => [e['event'], e['type'], e['internal_id'], origin(e)];

const compareIds = (a: string, b: string) => {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am !== bm ? am - bm : as - bs;
};

for (const [line, { venv, version }] of Object.entries(PYCTI_LINES)) {
  describe(`${line}: OpenCTIConnectorHelper stream consumer against the emulator`, () => {
    it('registers, pings, receives create/update/delete/merge, saves its state and resumes from it', async (t) => {
      const python = clientPython(t, venv);
      if (python === undefined) return;
      const opencti = await startOpenCtiEmulator({ heartbeatMs: 1000 });
      const connectorId = randomUUID();
      try {
        // Before the first run: recovered as a snapshot (pycti's first run recovers up to now).
        const a = opencti.createIndicator({ name: 'Before_First_Run', pattern: rule('Before_First_Run') });
        // pycti's recover date is now truncated to the second; an object updated within that
        // second is after it, so it would come live rather than in the snapshot.
        await sleep(1100);

        // Marking + A (snapshot), then live: update A, create B, create C, delete B, merge C into A.
        const first = consumer(python, opencti, connectorId, 7);
        try {
          await first.waitFor('registration', () => first.of('registered').length === 1);
          const registered = first.of('registered')[0]!;
          assert.match(registered['pycti'], version);
          assert.equal(registered['state'], null, 'first run: no state');
          assert.deepEqual(
            opencti.connectors().map((c) => [c.id, c.type, c.scope]),
            [[connectorId, 'STREAM', ['yara']]],
          );
          await first.waitFor('the snapshot', () => first.of('event').length >= 2);
          const updated = opencti.updateIndicator(a.internalId, { score: 90 });
          const b = opencti.createIndicator({ name: 'Created_Live', pattern: rule('Created_Live') });
          const c = opencti.createIndicator({ name: 'Merged_Away', pattern: rule('Merged_Away') });
          const deleted = opencti.deleteIndicator(b.internalId);
          const merged = opencti.mergeIndicators(a.internalId, [c.internalId]);
          await first.finished();

          const events = first.of('event').map(summary);
          assert.deepEqual(
            events,
            [
              ['create', 'marking-definition', events[0]![2], 'init-dependencies'],
              ['create', 'indicator', a.internalId, 'init-create'],
              ['update', 'indicator', a.internalId, null],
              ['create', 'indicator', b.internalId, null],
              ['create', 'indicator', c.internalId, null],
              ['delete', 'indicator', b.internalId, null],
              ['merge', 'indicator', a.internalId, null],
            ],
            'the marking is sent once on this connection, not again before B and C',
          );
          assert.equal(first.of('event')[0]!['stix_id'], TLP_GREEN_ID);
          assert.deepEqual(first.of('event')[6]!['sources'], [c.internalId]);
          assert.deepEqual(
            first
              .of('event')
              .slice(2)
              .map((e) => e['id']),
            [updated, b.eventId, c.eventId, deleted, merged],
          );

          const saved = first.of('saved')[0]!['state'];
          assert.ok(
            compareIds(saved['start_from'], merged) >= 0,
            `saved position ${saved['start_from']} is at or past the merge ${merged}`,
          );
          assert.deepEqual(JSON.parse(opencti.connectorState(connectorId) ?? 'null'), saved, 'stored through pingConnector');
          assert.ok((opencti.connectors()[0]?.pings ?? 0) >= 1);
        } finally {
          await first.kill();
        }

        // While it is down: one more indicator. The second run starts from the saved state.
        const d = opencti.createIndicator({ name: 'While_Down', pattern: rule('While_Down') });
        const second = consumer(python, opencti, connectorId, 2);
        try {
          await second.finished();
          const registered = second.of('registered')[0]!;
          assert.deepEqual(registered['state'], first.of('saved')[0]!['state'], 'registration returned the saved state');
          const events = second.of('event').map(summary);
          assert.deepEqual(
            events,
            [
              ['create', 'marking-definition', events[0]![2], 'init-dependencies'],
              ['create', 'indicator', d.internalId, null],
            ],
            'nothing from the first run is replayed; a new connection gets the marking again',
          );
          assert.equal(second.of('event')[0]!['stix_id'], TLP_GREEN_ID);
          assert.deepEqual(
            second.of('event').map((e) => e['id']),
            [d.eventId, d.eventId],
            'the marking shares the id of the object that needs it',
          );
        } finally {
          await second.kill();
        }
      } finally {
        await opencti.close();
      }
    });
  });
}
