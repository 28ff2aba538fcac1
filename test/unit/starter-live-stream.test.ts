/**
 * The stream connection alone against the OpenCTI emulator: what it sends, what it hands over,
 * and how it survives drops, refusals, silence and pauses.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import type { Fields, Logger } from '../../common/logger';
import { startOpenCtiEmulator, type OpenCtiEmulator } from '../../emulators/opencti';
import { LiveStream, type LiveStreamOptions, type StreamPosition } from '../../starter/live-stream';
import { waitFor } from '../support/processes';

const rule = (name: string) => `rule ${name} {\n  condition:\n    true\n}`;

interface Frame {
  event: string;
  id: string;
  data: string;
}

function recordingLogger(): Logger & { lines: Array<{ level: string; message: string; fields?: Fields }> } {
  const lines: Array<{ level: string; message: string; fields?: Fields }> = [];
  const logger: Logger & { lines: typeof lines } = {
    lines,
    debug: (message, fields) => lines.push({ level: 'debug', message, fields }),
    info: (message, fields) => lines.push({ level: 'info', message, fields }),
    warn: (message, fields) => lines.push({ level: 'warn', message, fields }),
    error: (message, fields) => lines.push({ level: 'error', message, fields }),
    child: () => logger,
  };
  return logger;
}

/** The token the connector is configured with; tests rotate the emulator's to refuse it. */
const TOKEN = 'opencti-test-token';

let opencti: OpenCtiEmulator;
let stream: LiveStream | undefined;

before(async () => {
  opencti = await startOpenCtiEmulator({ heartbeatMs: 200 });
});

afterEach(() => {
  stream?.stop();
  stream = undefined;
  opencti.setToken(TOKEN);
  opencti.setStreamLive(true);
  opencti.setHeartbeats(true);
});

after(async () => {
  await opencti.close();
});

function open(overrides: Partial<LiveStreamOptions> & { position?: () => StreamPosition } = {}) {
  const frames: Frame[] = [];
  const log = recordingLogger();
  let from = opencti.lastEventId() ?? '0-0';
  stream = new LiveStream({
    url: `${opencti.url}/stream/${opencti.streamId}`,
    token: TOKEN,
    listenDelete: true,
    noDependencies: true,
    withInferences: false,
    // Like the starter: resume after the last frame with an id.
    position: () => ({ from }),
    onFrame: (event, id, data) => {
      frames.push({ event, id, data });
      if (id && event !== 'heartbeat') from = id;
    },
    log,
    refusedRetryMs: 100,
    ...overrides,
  });
  stream.start();
  return { frames, log, requestsBefore: opencti.streamRequests().length };
}

test('sends the pycti headers, with-inferences when configured, and its own resume position', async () => {
  const before = opencti.streamRequests().length;
  open({
    withInferences: true,
    listenDelete: false,
    noDependencies: false,
    position: () => ({ from: '12-3', recover: '2025-03-05T08:00:00Z' }),
  });
  const request = await waitFor('the stream request', () => opencti.streamRequests()[before]);
  assert.equal(request.headers['with-inferences'], 'true');
  assert.equal(request.headers['listen-delete'], 'false');
  assert.equal(request.headers['no-dependencies'], 'false');
  assert.equal(request.headers['last-event-id'], '12-3');
  assert.equal(request.headers['authorization'], 'Bearer ***');
  assert.equal(request.headers['accept'], 'text/event-stream');
  assert.equal(request.query['recover'], '2025-03-05T08:00:00Z');
});

test('hands over every frame with its SSE event name, including names it does not know', async () => {
  const { frames } = open();
  await waitFor('connected', () => opencti.connections() === 1);
  const created = opencti.createIndicator({ name: 'Live_One', pattern: rule('Live_One') });
  const metrics = opencti.appendRaw('consumer_metrics', '{"deliveryRate":1}');
  await waitFor('both frames', () => frames.some((f) => f.id === metrics));
  assert.ok(
    frames.some((f) => f.event === 'connected' && f.id === ''),
    'connected carries no id',
  );
  const indicatorFrames = frames.filter((f) => f.id === created.eventId);
  assert.deepEqual(
    indicatorFrames.map((f) => [
      f.event,
      (JSON.parse(f.data) as { origin?: { referer?: string } }).origin?.referer === 'init-dependencies' ? 'dependency' : 'object',
    ]),
    [
      ['create', 'dependency'],
      ['create', 'object'],
    ],
    'the marking first, sharing the id of the indicator event',
  );
  assert.equal(frames.find((f) => f.id === metrics)?.event, 'consumer_metrics');
});

test('reconnects after the server drops the connection, from the position it is given', async () => {
  const { frames, log, requestsBefore } = open();
  await waitFor('connected', () => opencti.connections() === 1);
  const first = opencti.createIndicator({ name: 'Before_Drop', pattern: rule('Before_Drop') });
  await waitFor('first event', () => frames.some((f) => f.id === first.eventId && f.event === 'create'));
  opencti.dropConnections();
  const second = opencti.createIndicator({ name: 'After_Drop', pattern: rule('After_Drop') });
  await waitFor('the event appended while disconnected', () => frames.some((f) => f.id === second.eventId && f.event === 'create'));
  const requests = opencti.streamRequests().slice(requestsBefore);
  assert.equal(requests.length, 2);
  assert.equal(requests[1]!.headers['last-event-id'], first.eventId, 'resumed after the last event received');
  assert.equal(
    frames.filter((f) => f.id === first.eventId && f.event === 'create' && !f.data.includes('init-dependencies')).length,
    1,
    'not received twice',
  );
  assert.ok(log.lines.some((l) => l.level === 'warn' && /connection ended|reconnecting/.test(l.message)));
});

test('401: says to check OPENCTI_TOKEN and CONNECTOR_LIVE_STREAM_ID, retries with growing delays, recovers', async () => {
  opencti.setToken('rotated');
  const { frames, log, requestsBefore } = open();
  await waitFor('three refused attempts', () => opencti.streamRequests().length - requestsBefore >= 3);
  const refusals = log.lines.filter((l) => l.level === 'error');
  assert.match(
    refusals[0]!.message,
    /401 \(You are not authenticated, please check your credentials\): check OPENCTI_TOKEN and CONNECTOR_LIVE_STREAM_ID/,
  );
  const delays = refusals.map((l) => l.fields?.['retryInMs'] as number);
  assert.ok(delays[2]! > delays[0]!, `delays grow: ${delays.join(', ')}`);
  opencti.setToken(TOKEN);
  await waitFor('connected again', () => frames.some((f) => f.event === 'connected'), 10_000);
});

test('410: says the live stream is stopped, keeps retrying, resumes when it is started again', async () => {
  const { frames, log } = open();
  await waitFor('connected', () => opencti.connections() === 1);
  opencti.setStreamLive(false);
  await waitFor('a 410', () =>
    log.lines.some((l) => l.level === 'error' && /the live stream is stopped \(410\) \(This live stream is stopped\)/.test(l.message)),
  );
  await waitFor('a second 410', () => log.lines.filter((l) => l.level === 'error').length >= 2);
  opencti.setStreamLive(true);
  const created = opencti.createIndicator({ name: 'After_Restart', pattern: rule('After_Restart') });
  await waitFor('the event', () => frames.some((f) => f.id === created.eventId), 10_000);
});

test('a silent stream is reconnected by the watchdog', async () => {
  opencti.setHeartbeats(false);
  const { log, requestsBefore } = open({ watchdogMs: 300 });
  await waitFor('two reconnections', () => opencti.streamRequests().length - requestsBefore >= 3, 10_000);
  assert.ok(log.lines.some((l) => l.level === 'warn' && /no frame with an id for too long/.test(l.message)));
});

test('heartbeats keep the watchdog quiet', async () => {
  const { log, requestsBefore } = open({ watchdogMs: 600 });
  await waitFor('a few heartbeats', () => (stream?.connectionCount() ?? 0) >= 1);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  assert.equal(opencti.streamRequests().length - requestsBefore, 1);
  assert.ok(!log.lines.some((l) => /no frame with an id/.test(l.message)));
});

test('pause closes the connection and hands nothing over; resume reconnects from the position', async () => {
  const { frames, requestsBefore } = open();
  // This stream's own request, not the previous test's connection still closing.
  await waitFor('connected', () => opencti.connections() === 1 && opencti.streamRequests().length > requestsBefore);
  stream!.pause();
  await waitFor('the server sees the connection closed', () => opencti.connections() === 0);
  const seen = frames.length;
  const created = opencti.createIndicator({ name: 'While_Paused', pattern: rule('While_Paused') });
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(frames.length, seen, 'nothing read while paused, not even heartbeats');
  assert.equal(opencti.streamRequests().length - requestsBefore, 1, 'no reconnection while paused');
  stream!.resume();
  await waitFor('the event appended while paused', () => frames.some((f) => f.id === created.eventId && f.event === 'create'));
});
