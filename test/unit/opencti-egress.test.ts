/**
 * The OpenCTI side against hostile servers: the token never follows a redirect, GraphQL answers
 * and live-stream frames are bounded, and a stream cut at an oversized frame reconnects from
 * where its caller says (past the frame, once told about it).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Fields, Logger } from '../../common/logger';
import type { ConnectorSettings } from '../../config/load';
import { frameIdOf, limitFrames } from '../../starter/frame-limit';
import { LiveStream } from '../../starter/live-stream';
import { OpenCtiApi } from '../../starter/opencti-api';
import { listen, MiB, sampleRss, writeLazily, type TestServer } from '../support/hostile-http';
import { waitFor } from '../support/processes';

const TOKEN = 'opencti-secret-token-42';

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

const connector: ConnectorSettings = {
  id: randomUUID(),
  name: 'VirusTotal LiveHunts',
  scope: 'yara',
  liveStreamId: 'live',
  listenDelete: true,
  noDependencies: true,
  withInferences: false,
  confidenceLevel: 80,
  maxInFlightEvents: 64,
  maxBufferedEvents: 10_000,
  liveStreamWatchdogSeconds: 45,
};

/** Where redirects point: records whether the token arrived. */
let elsewhere: TestServer;
const arrivals: Array<{ url: string; authorization?: string }> = [];

before(async () => {
  elsewhere = await listen((request, response) => {
    arrivals.push({ url: request.url!, authorization: request.headers.authorization });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{"data":{"registerConnector":{"id":"x","connector_state":null}}}');
  });
});

after(async () => {
  await elsewhere.close();
});

test('GraphQL: a redirect is not followed, the token stays, the error names OPENCTI_URL', async () => {
  const redirecting = await listen((request, response) => {
    response.writeHead(308, { location: `${elsewhere.url}${request.url}` });
    response.end();
  });
  try {
    arrivals.length = 0;
    const api = new OpenCtiApi({ url: redirecting.url, token: TOKEN }, connector);
    await assert.rejects(api.register(), (error: Error) => {
      assert.match(error.message, /redirect to http:\/\/127\.0\.0\.1:\d+.*check OPENCTI_URL/);
      assert.ok(!error.message.includes(TOKEN));
      return true;
    });
    assert.deepEqual(arrivals, []);
  } finally {
    await redirecting.close();
  }
});

test('GraphQL: an answer over the bound is cut while it streams', async () => {
  let written: Promise<number> | undefined;
  const huge = await listen((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    written = writeLazily(response, 400 * MiB);
  });
  try {
    const api = new OpenCtiApi({ url: huge.url, token: TOKEN }, connector);
    await assert.rejects(api.register(), /larger than 16 MiB.*check OPENCTI_URL/);
    assert.ok((await written!) < 64 * MiB);
  } finally {
    await huge.close();
  }
});

test('live stream: a redirect is not followed; the log names OPENCTI_URL and the token stays', async () => {
  const redirecting = await listen((request, response) => {
    response.writeHead(302, { location: `${elsewhere.url}${request.url}` });
    response.end();
  });
  const log = recordingLogger();
  const stream = new LiveStream({
    url: `${redirecting.url}/stream/live`,
    token: TOKEN,
    listenDelete: true,
    noDependencies: true,
    withInferences: false,
    position: () => ({ from: '0-0' }),
    onFrame: () => undefined,
    log,
    refusedRetryMs: 60_000,
  });
  try {
    arrivals.length = 0;
    stream.start();
    const line = await waitFor('the redirect reported', () => log.lines.find((entry) => /redirect/.test(entry.message)), 10_000);
    assert.equal(line.level, 'error');
    assert.match(line.message, /redirect \(302\) to http:\/\/127\.0\.0\.1:\d+.*check OPENCTI_URL/);
    assert.deepEqual(arrivals, []);
    assert.ok(!JSON.stringify(log.lines).includes(TOKEN));
  } finally {
    stream.stop();
    await redirecting.close();
  }
});

test('frame ids are read from the first bytes; CRLF and CR line ends delimit frames', async () => {
  assert.equal(frameIdOf('id: 12-0\nevent: create\ndata: {'), '12-0');
  assert.equal(frameIdOf('event: create\r\nid:13-1\r\ndata'), '13-1');
  assert.equal(frameIdOf('data: xxx'), undefined);

  const encoder = new TextEncoder();
  const frames = ['id: 1-0\r\ndata: aaaa\r\n\r\n', 'id: 2-0\rdata: bbbb\r\r', 'id: 3-0\ndata: cccc\n\n'];
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const frame of frames) controller.enqueue(encoder.encode(frame));
      controller.enqueue(encoder.encode(`id: 4-0\ndata: ${'d'.repeat(100)}\n\n`));
      controller.close();
    },
  });
  const cut: Array<string | undefined> = [];
  // Each small frame is under 30 bytes; the fourth is over 100.
  const limited = limitFrames(source, 30, (frame) => cut.push(frame.frameId));
  const text = await new Response(limited).text();
  assert.deepEqual(cut, ['4-0']);
  assert.ok(text.startsWith(frames.join('')), 'complete frames before the oversized one pass unchanged');
  assert.ok(text.length < frames.join('').length + 31);
});

test('live stream: a 700 MB line is not buffered; the connection is dropped naming the frame, and the stream resumes past it', async () => {
  const requests: Array<string | undefined> = [];
  let bigWritten: Promise<number> | undefined;
  const sse = await listen((request, response) => {
    const from = request.headers['last-event-id'] as string | undefined;
    requests.push(from);
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    response.write(`event: connected\ndata: {"lastEventId":"9-0"}\n\n`);
    if (from === '0-0') {
      response.write('id: 1-0\nevent: heartbeat\ndata: 1\n\n');
      response.write('id: 2-0\nevent: update\ndata: {"a":1}\n\n');
      // No Content-Length and no end: only a frame limit stops this.
      response.write('id: 3-0\nevent: create\ndata: ');
      bigWritten = writeLazily(response, 700 * MiB);
    } else {
      response.write('id: 4-0\nevent: update\ndata: {"b":2}\n\n');
    }
  });
  const log = recordingLogger();
  const frames: string[] = [];
  const oversized: Array<[string | undefined, string | undefined]> = [];
  let from = '0-0';
  const stream = new LiveStream({
    url: `${sse.url}/stream/live`,
    token: TOKEN,
    listenDelete: true,
    noDependencies: true,
    withInferences: false,
    position: () => ({ from }),
    onFrame: (_event, id) => {
      if (id) frames.push(id);
    },
    onOversizedFrame: (lastGoodId, frameId) => {
      oversized.push([lastGoodId, frameId]);
      // What the starter does: the frame is passed over, the stream resumes after it.
      if (frameId) from = frameId;
    },
    log,
    maxBackoffMs: 200,
  });
  const baseline = process.memoryUsage().rss;
  const rss = sampleRss();
  try {
    stream.start();
    await waitFor('the frame after the oversized one', () => frames.includes('4-0'), 30_000);
    const peak = rss.stop();
    assert.deepEqual(frames, ['1-0', '2-0', '4-0']);
    assert.deepEqual(oversized, [['2-0', '3-0']]);
    assert.deepEqual(requests, ['0-0', '3-0'], 'reconnected from the position the caller moved past the frame');
    const line = log.lines.find((entry) => /larger than 8 MiB/.test(entry.message));
    assert.ok(line, 'an error line names the oversized frame');
    assert.equal(line.level, 'error');
    assert.equal(line.fields?.frameId, '3-0');
    assert.equal(line.fields?.lastGoodId, '2-0');
    const sent = await bigWritten!;
    const growth = peak - baseline;
    process.stdout.write(
      `# rss baseline ${Math.round(baseline / MiB)} MiB, peak ${Math.round(peak / MiB)} MiB, server wrote ${Math.round(sent / MiB)} MiB of the 700 MiB line\n`,
    );
    assert.ok(sent < 100 * MiB, `the server should have been cut off early, it wrote ${Math.round(sent / MiB)} MiB`);
    assert.ok(growth < 200 * MiB, `RSS grew by ${Math.round(growth / MiB)} MiB`);
  } finally {
    rss.stop();
    stream.stop();
    await sse.close();
  }
});

test('live stream: without the caller moving past it, the same oversized frame is met again, each time later', async () => {
  const requests: number[] = [];
  const sse = await listen((_request, response) => {
    requests.push(Date.now());
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write('id: 1-0\nevent: heartbeat\ndata: 1\n\n');
    response.write(`id: 2-0\nevent: create\ndata: ${'x'.repeat(4096)}`);
    response.end();
  });
  const log = recordingLogger();
  const calls: Array<[string | undefined, string | undefined]> = [];
  const stream = new LiveStream({
    url: `${sse.url}/stream/live`,
    token: TOKEN,
    listenDelete: true,
    noDependencies: true,
    withInferences: false,
    position: () => ({ from: '0-0' }),
    onFrame: () => undefined,
    onOversizedFrame: (lastGoodId, frameId) => calls.push([lastGoodId, frameId]),
    log,
    maxFrameBytes: 1024,
  });
  try {
    stream.start();
    await waitFor('three attempts', () => requests.length >= 3, 20_000);
    assert.deepEqual(calls.slice(0, 2), [
      ['1-0', '2-0'],
      ['1-0', '2-0'],
    ]);
    const repeats = log.lines.filter((entry) => /larger than 1 KiB/.test(entry.message)).map((entry) => entry.fields?.repeats);
    assert.deepEqual(repeats.slice(0, 2), [0, 1]);
  } finally {
    stream.stop();
    await sse.close();
  }
});
