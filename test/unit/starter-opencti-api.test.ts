/**
 * The connector's GraphQL side against the OpenCTI emulator: registration, the state stored by
 * pings, the reset handshake, and a refused token named as such.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { ConnectorSettings } from '../../config/load';
import { startOpenCtiEmulator, type OpenCtiEmulator } from '../../emulators/opencti';
import { OpenCtiApi, parseConnectorState } from '../../starter/opencti-api';

let opencti: OpenCtiEmulator;

before(async () => {
  opencti = await startOpenCtiEmulator();
});

after(async () => {
  await opencti.close();
});

function connector(id = randomUUID()): ConnectorSettings {
  return {
    id,
    name: 'VirusTotal LiveHunts',
    scope: 'yara',
    liveStreamId: opencti.streamId,
    listenDelete: true,
    noDependencies: true,
    withInferences: false,
    confidenceLevel: 80,
    maxInFlightEvents: 64,
    maxBufferedEvents: 10_000,
    liveStreamWatchdogSeconds: 45,
  };
}

test('registers as a STREAM connector with its scope, and the state a ping stores is returned on the next registration', async () => {
  const settings = connector();
  const api = new OpenCtiApi({ url: opencti.url, token: opencti.token }, settings);
  assert.equal(parseConnectorState(await api.register()), undefined, 'first run: no state');
  const summary = opencti.connectors().find((c) => c.id === settings.id);
  assert.equal(summary?.type, 'STREAM');
  assert.deepEqual(summary?.scope, ['yara']);

  const state = { start_from: '1741161720789-0', recover_until: '2025-03-04T14:53:20Z' };
  assert.deepEqual(parseConnectorState(await api.ping(state)), state);
  assert.equal(opencti.connectorState(settings.id), JSON.stringify(state), 'stored as pycti stores it: the JSON text');
  assert.deepEqual(parseConnectorState(await api.register()), state, 'a restart finds its place');
});

test('after a reset in the UI, the next ping is answered with an empty state and its own state is not stored', async () => {
  const settings = connector();
  const api = new OpenCtiApi({ url: opencti.url, token: opencti.token }, settings);
  await api.register();
  await api.ping({ start_from: '5-0', recover_until: false });
  opencti.resetConnectorState(settings.id);
  assert.equal(
    parseConnectorState(await api.ping({ start_from: '9-0', recover_until: false })),
    undefined,
    'the reset reaches the connector',
  );
  assert.equal(parseConnectorState(opencti.connectorState(settings.id)), undefined, 'the position sent with that ping was discarded');
  const replay = { start_from: '0-0', recover_until: '2025-03-05T08:00:00.000Z' };
  assert.deepEqual(parseConnectorState(await api.ping(replay)), replay, 'the next ping stores the replay position');
});

test('a refused token names OPENCTI_TOKEN', async () => {
  const api = new OpenCtiApi({ url: opencti.url, token: 'not-the-token' }, connector());
  await assert.rejects(api.register(), /check OPENCTI_TOKEN/);
});

test('the ping carries what the starter holds: whether the stream is paused and how many events wait', async () => {
  const settings = connector();
  const api = new OpenCtiApi({ url: opencti.url, token: opencti.token }, settings);
  await api.register();
  await api.ping({ start_from: '5-0', recover_until: false }, { buffering: true, queueMessagesSize: 1234 });
  const paused = opencti.connectors().find((c) => c.id === settings.id)?.info;
  assert.equal(paused?.buffering, true);
  assert.equal(paused?.queue_messages_size, 1234);
  await api.ping({ start_from: '6-0', recover_until: false }, { buffering: false, queueMessagesSize: 0 });
  const resumed = opencti.connectors().find((c) => c.id === settings.id)?.info;
  assert.equal(resumed?.buffering, false);
  assert.equal(resumed?.queue_messages_size, 0);
});
