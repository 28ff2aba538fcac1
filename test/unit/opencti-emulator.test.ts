/**
 * OpenCTI emulator: real HTTP against a started emulator. Each test asserts wire behaviour
 * from shared/reference/opencti-live-stream.md (frames, ids, statuses, GraphQL).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  buildYaraIndicator,
  OPENCTI_EXTENSION,
  OpenCtiEmulator,
  OpenCtiEmulatorOptions,
  startOpenCtiEmulator,
  TLP_GREEN_ID,
} from '../../emulators/opencti';

// ---------------------------------------------------------------- helpers

interface Frame {
  id: string | undefined;
  event: string | undefined;
  data: string;
  raw: string;
}

type Json = Record<string, any>;

class SseClient {
  readonly frames: Frame[] = [];
  ended = false;
  private buffer = '';
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly res: http.IncomingMessage,
    private readonly req: http.ClientRequest,
  ) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.parse();
      this.notify();
    });
    const finish = () => {
      this.ended = true;
      this.notify();
    };
    res.on('end', finish);
    res.on('close', finish);
    res.on('error', finish);
  }

  /** Frames other than `connected` and `heartbeat`. */
  dataFrames(): Frame[] {
    return this.frames.filter((f) => f.event !== 'connected' && f.event !== 'heartbeat');
  }

  heartbeats(): Frame[] {
    return this.frames.filter((f) => f.event === 'heartbeat');
  }

  async waitFor(predicate: () => boolean, what: string, timeoutMs = 15000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for ${what}; got ${this.frames.length} frames, ended=${this.ended}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(remaining, 200));
        this.waiters.add(done);
      });
    }
  }

  close(): void {
    this.req.destroy();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private parse(): void {
    // One pass with a cursor: slicing the buffer per frame would be quadratic on big chunks.
    let start = 0;
    let index: number;
    while ((index = this.buffer.indexOf('\n\n', start)) >= 0) {
      const block = this.buffer.slice(start, index);
      start = index + 2;
      const frame: Frame = { id: undefined, event: undefined, data: '', raw: block };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') frame.id = value;
        else if (field === 'event') frame.event = value;
        else if (field === 'data') data.push(value);
      }
      frame.data = data.join('\n');
      this.frames.push(frame);
    }
    this.buffer = this.buffer.slice(start);
  }
}

interface StreamResponse {
  status: number;
  statusMessage: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  client: SseClient | undefined;
}

function openStream(url: string, headers: Record<string, string> = {}): Promise<StreamResponse> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      const base = { status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', headers: res.headers };
      if (res.statusCode === 200) {
        resolve({ ...base, body: '', client: new SseClient(res, req) });
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ ...base, body, client: undefined }));
    });
    req.on('error', reject);
  });
}

function auth(e: OpenCtiEmulator, extra: Record<string, string> = {}): Record<string, string> {
  return { Authorization: `Bearer ${e.token}`, ...extra };
}

async function connect(e: OpenCtiEmulator, query = '', headers: Record<string, string> = {}): Promise<SseClient> {
  const r = await openStream(`${e.url}/stream/${e.streamId}${query}`, auth(e, headers));
  assert.equal(r.status, 200, `expected 200, got ${r.status} ${r.statusMessage}`);
  assert.ok(r.client);
  await r.client.waitFor(() => r.client!.frames.length > 0, 'connected frame');
  return r.client;
}

async function withEmulator(opts: OpenCtiEmulatorOptions, fn: (e: OpenCtiEmulator) => Promise<void>): Promise<void> {
  const e = await startOpenCtiEmulator({ heartbeatMs: 60_000, ...opts });
  try {
    await fn(e);
  } finally {
    await e.close();
  }
}

function parseId(id: string | undefined): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(id ?? '');
  assert.ok(m, `not a stream id: ${id}`);
  return [Number(m[1]), Number(m[2])];
}

function compareIds(a: string | undefined, b: string | undefined): number {
  const [am, as] = parseId(a);
  const [bm, bs] = parseId(b);
  return am !== bm ? am - bm : as - bs;
}

const parsed = new WeakMap<Frame, Json>();

/** Parsed `data` of a frame (cached: predicates re-read frames on every chunk). */
function json(frame: Frame | undefined): Json {
  assert.ok(frame, 'frame missing');
  let value = parsed.get(frame);
  if (value === undefined) {
    value = JSON.parse(frame.data) as Json;
    parsed.set(frame, value);
  }
  return value;
}

function internalIdOf(frame: Frame): string | undefined {
  return json(frame)['data']?.['extensions']?.[OPENCTI_EXTENSION]?.['id'];
}

function isDependency(frame: Frame): boolean {
  return json(frame)['origin']?.['referer'] === 'init-dependencies';
}

/** Frames that are knowledge events, without dependency frames. */
function knowledgeFrames(client: SseClient): Frame[] {
  return client.dataFrames().filter((f) => !isDependency(f));
}

/** `token: null` sends no Authorization header. */
async function graphql(
  e: OpenCtiEmulator,
  query: string,
  variables: Json = {},
  token: string | null = e.token,
): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token !== null) headers['Authorization'] = `Bearer ${token}`;
  const res = await fetch(`${e.url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return { status: res.status, body: (await res.json()) as Json };
}

async function control(e: OpenCtiEmulator, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const init: RequestInit = { method, headers: { 'Content-Type': 'application/json' } };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(`${e.url}/_emulator${path}`, init);
  return { status: res.status, body: await res.json() };
}

const yara = (n: number | string) => `rule R${n} { strings: $a = "x${n}" condition: $a }`;

/** Ensures the next event gets a new millisecond, so date-based start points are unambiguous. */
const nextMs = () => sleep(3);

const REGISTER = `mutation RegisterConnector($input: RegisterConnectorInput) {
  registerConnector(input: $input) {
    id
    connector_state
    config { connection { host vhost use_ssl port user pass } listen listen_routing listen_exchange push push_routing push_exchange }
    connector_user_id
  }
}`;
const PING = `mutation PingConnector($id: ID!, $state: String, $connectorInfo: ConnectorInfoInput) {
  pingConnector(id: $id, state: $state, connectorInfo: $connectorInfo) {
    id
    connector_state
    connector_info { run_and_terminate buffering queue_threshold queue_messages_size next_run_datetime last_run_datetime }
  }
}`;
const CONNECTOR_ID = '60c69785-82d4-4fea-9c49-cc44b7324055';
const registerInput = { id: CONNECTOR_ID, name: 'VirusTotal LiveHunts', type: 'STREAM', scope: ['yara'], auto: false };

// ---------------------------------------------------------------- frames and ids

describe('OpenCTI emulator: frames and ids', () => {
  it('sends the 200 headers, a connected frame without id, then single-line frames with increasing ids', async () => {
    await withEmulator({}, async (e) => {
      const a = e.createIndicator({ name: 'A', pattern: yara(1), score: 80 });
      e.createIndicator({ name: 'B', pattern: yara(2) });
      const r = await openStream(`${e.url}/stream/${e.streamId}?from=0`, auth(e));
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'text/event-stream; charset=utf-8');
      assert.equal(r.headers['cache-control'], 'no-cache, no-transform');
      assert.equal(r.headers['connection'], 'keep-alive');
      assert.equal(r.headers['access-control-allow-origin'], '*');
      const client = r.client!;
      try {
        await client.waitFor(() => knowledgeFrames(client).length >= 2, 'two creates');
        const connected = client.frames[0]!;
        assert.equal(connected.event, 'connected');
        assert.equal(connected.id, undefined);
        assert.ok(!connected.raw.includes('id:'));
        const info = json(connected);
        assert.deepEqual(Object.keys(info).sort(), [
          'connectionId',
          'firstEventDate',
          'firstEventId',
          'lastEventDate',
          'lastEventId',
          'streamSize',
        ]);
        assert.equal(info['streamSize'], 2);
        assert.equal(info['firstEventId'], a.eventId);
        assert.equal(info['lastEventId'], e.lastEventId());
        assert.equal(info['firstEventDate'], new Date(parseId(a.eventId)[0]).toISOString());

        for (const f of client.dataFrames()) {
          assert.match(f.raw, /^id: \d+-\d+\nevent: [a-z_]+\ndata: [^\n]+$/);
          assert.doesNotThrow(() => JSON.parse(f.data));
        }
        const creates = knowledgeFrames(client);
        assert.equal(creates[0]!.id, a.eventId);
        assert.ok(compareIds(creates[1]!.id, creates[0]!.id) > 0, 'ids strictly increase');
        const envelope = json(creates[0]);
        assert.equal(envelope['version'], '4');
        assert.equal(envelope['type'], 'create');
        assert.equal(envelope['scope'], 'external');
        assert.equal(typeof envelope['message'], 'string');
        assert.equal(envelope['origin']['socket'], 'query');
        const stix = envelope['data'];
        assert.equal(stix['type'], 'indicator');
        assert.equal(stix['pattern_type'], 'yara');
        assert.equal(stix['pattern'], yara(1));
        assert.match(stix['id'], /^indicator--[0-9a-f-]{36}$/);
        const octi = stix['extensions'][OPENCTI_EXTENSION];
        assert.equal(octi['id'], a.internalId);
        assert.equal(octi['detection'], true);
        assert.equal(octi['score'], 80);
        assert.equal(octi['updated_at'], new Date(parseId(a.eventId)[0]).toISOString());

        // Pushed promptly to an open connection.
        const c = e.createIndicator({ name: 'C', pattern: yara(3) });
        await client.waitFor(() => knowledgeFrames(client).some((f) => f.id === c.eventId), 'live create');
      } finally {
        client.close();
      }
    });
  });

  it('allocates strictly increasing <ms>-<seq> ids even within one millisecond', async () => {
    await withEmulator({}, async (e) => {
      const ids = Array.from({ length: 200 }, (_, i) => e.createIndicator({ name: `N${i}`, pattern: yara(i) }).eventId);
      for (let i = 1; i < ids.length; i += 1) assert.ok(compareIds(ids[i], ids[i - 1]) > 0, `${ids[i]} > ${ids[i - 1]}`);
      assert.ok(
        ids.some((id) => parseId(id)[1] > 0),
        'a sequence number is used within a millisecond',
      );
      assert.equal(e.lastEventId(), ids[ids.length - 1]);
    });
  });

  it('delivers raw frames with unknown event names and malformed data verbatim', async () => {
    await withEmulator({}, async (e) => {
      const client = await connect(e);
      try {
        const id1 = e.appendRaw('consumer_metrics', '{"deliveryRate":1}');
        const id2 = e.appendRaw('create', '{not json');
        await client.waitFor(() => client.dataFrames().length >= 2, 'raw frames');
        const [f1, f2] = client.dataFrames();
        assert.deepEqual([f1!.id, f1!.event, f1!.data], [id1, 'consumer_metrics', '{"deliveryRate":1}']);
        assert.deepEqual([f2!.id, f2!.event, f2!.data], [id2, 'create', '{not json']);
      } finally {
        client.close();
      }
    });
  });

  it('changes the STIX id but not the internal id when the pattern is edited, with /id in the patches', async () => {
    await withEmulator({}, async (e) => {
      const a = e.createIndicator({ name: 'A', pattern: yara(1) });
      const before = e.indicator(a.internalId) as Json;
      const client = await connect(e, '', { 'Last-Event-ID': a.eventId });
      try {
        const updateId = e.updateIndicator(a.internalId, { pattern: yara(99) });
        await client.waitFor(() => knowledgeFrames(client).length >= 1, 'update');
        const f = knowledgeFrames(client)[0]!;
        assert.equal(f.id, updateId);
        assert.equal(f.event, 'update');
        const envelope = json(f);
        assert.notEqual(envelope['data']['id'], before['id']);
        assert.equal(envelope['data']['id'], buildYaraIndicator({ internalId: a.internalId, name: 'A', pattern: yara(99) })['id']);
        assert.equal(internalIdOf(f), a.internalId);
        const patch = envelope['context']['patch'] as Json[];
        const reverse = envelope['context']['reverse_patch'] as Json[];
        assert.deepEqual(
          patch.find((op) => op['path'] === '/id'),
          { op: 'replace', path: '/id', value: envelope['data']['id'] },
        );
        assert.deepEqual(
          reverse.find((op) => op['path'] === '/id'),
          { op: 'replace', path: '/id', value: before['id'] },
        );
        assert.deepEqual(
          reverse.find((op) => op['path'] === '/pattern'),
          { op: 'replace', path: '/pattern', value: yara(1) },
        );
      } finally {
        client.close();
      }
    });
  });

  it('emits detection updates with full-extension-path patches, and merges with context.sources', async () => {
    await withEmulator({}, async (e) => {
      const a = e.createIndicator({ name: 'A', pattern: yara(1), labels: ['a'] });
      const b = e.createIndicator({ name: 'B', pattern: yara(2), labels: ['b'] });
      const client = await connect(e, '', { 'Last-Event-ID': b.eventId });
      try {
        const updateId = e.updateIndicator(a.internalId, { detection: false });
        const mergeId = e.mergeIndicators(a.internalId, [b.internalId]);
        await client.waitFor(() => knowledgeFrames(client).length >= 2, 'update + merge');
        const [update, merge] = knowledgeFrames(client);
        assert.equal(update!.id, updateId);
        const detectionPath = `/extensions/${OPENCTI_EXTENSION}/detection`;
        assert.deepEqual(
          json(update)['context']['patch'].find((op: Json) => op['path'] === detectionPath),
          { op: 'replace', path: detectionPath, value: false },
        );
        assert.deepEqual(
          json(update)['context']['reverse_patch'].find((op: Json) => op['path'] === detectionPath),
          { op: 'replace', path: detectionPath, value: true },
        );
        assert.equal(merge!.id, mergeId);
        assert.equal(merge!.event, 'merge');
        const envelope = json(merge);
        assert.equal(envelope['type'], 'merge');
        assert.equal(envelope['data']['extensions'][OPENCTI_EXTENSION]['id'], a.internalId);
        assert.deepEqual(envelope['data']['labels'], ['a', 'b']);
        assert.deepEqual(
          envelope['context']['sources'].map((s: Json) => s['extensions'][OPENCTI_EXTENSION]['id']),
          [b.internalId],
        );
        assert.ok(Array.isArray(envelope['context']['patch']));
        assert.equal(e.indicator(b.internalId), undefined, 'absorbed source no longer exists');
        assert.throws(() => e.updateIndicator(a.internalId, { detection: false }), /changes nothing/);
      } finally {
        client.close();
      }
    });
  });
});

// ---------------------------------------------------------------- start points

describe('OpenCTI emulator: start points and resume', () => {
  async function seed(e: OpenCtiEmulator): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      ids.push(e.createIndicator({ name: `I${i}`, pattern: yara(i) }).eventId);
      await nextMs();
    }
    return ids;
  }

  async function receivedIds(e: OpenCtiEmulator, expected: number, query: string, headers: Record<string, string> = {}): Promise<string[]> {
    const client = await connect(e, query, headers);
    try {
      await client.waitFor(() => knowledgeFrames(client).length >= expected, `${expected} frames`);
      await sleep(50); // nothing more must arrive
      return knowledgeFrames(client).map((f) => f.id!);
    } finally {
      client.close();
    }
  }

  it('resumes exclusively after an id given as query from, header from or Last-Event-ID', async () => {
    await withEmulator({}, async (e) => {
      const ids = await seed(e);
      assert.deepEqual(await receivedIds(e, 2, `?from=${ids[1]}`), ids.slice(2));
      assert.deepEqual(await receivedIds(e, 1, '', { from: ids[2]! }), ids.slice(3));
      assert.deepEqual(await receivedIds(e, 3, '', { 'Last-Event-ID': ids[0]! }), ids.slice(1));
      // Query `from` wins over the Last-Event-ID header.
      assert.deepEqual(await receivedIds(e, 1, `?from=${ids[2]}`, { 'Last-Event-ID': ids[0]! }), ids.slice(3));
    });
  });

  it('treats 0 and 0-0 as the beginning and an ISO date as <ms>-0', async () => {
    await withEmulator({}, async (e) => {
      const ids = await seed(e);
      assert.deepEqual(await receivedIds(e, 4, '?from=0'), ids);
      assert.deepEqual(await receivedIds(e, 4, '', { 'Last-Event-ID': '0-0' }), ids);
      // The date of event 2's millisecond ⇒ start id `<ms>-0` ⇒ event 2 (= `<ms>-0`) is excluded.
      const date = new Date(parseId(ids[2])[0]).toISOString();
      assert.equal(parseId(ids[2])[1], 0);
      assert.deepEqual(await receivedIds(e, 1, `?from=${encodeURIComponent(date)}`), ids.slice(3));
      // One ms earlier includes it.
      const earlier = new Date(parseId(ids[2])[0] - 1).toISOString();
      assert.deepEqual(await receivedIds(e, 2, '', { from: earlier }), ids.slice(2));
    });
  });

  it('without a start point sends only events appended after connecting', async () => {
    await withEmulator({}, async (e) => {
      await seed(e);
      const client = await connect(e);
      try {
        await sleep(50);
        assert.equal(knowledgeFrames(client).length, 0, 'history is not replayed');
        const fresh = e.createIndicator({ name: 'fresh', pattern: yara('fresh') });
        await client.waitFor(() => knowledgeFrames(client).length === 1, 'the new event');
        assert.equal(knowledgeFrames(client)[0]!.id, fresh.eventId);
      } finally {
        client.close();
      }
    });
  });
});

// ---------------------------------------------------------------- recover

describe('OpenCTI emulator: recover', () => {
  it('emits a snapshot of current matching objects as init-create frames, then the live tail after the recover date', async () => {
    await withEmulator({}, async (e) => {
      const a = e.createIndicator({ name: 'A', pattern: yara(1) });
      await nextMs();
      const b = e.createIndicator({ name: 'B', pattern: yara(2) });
      await nextMs();
      const aUpdate = e.updateIndicator(a.internalId, { name: 'A2' });
      await nextMs();
      const gone = e.createIndicator({ name: 'gone', pattern: yara(3) });
      e.deleteIndicator(gone.internalId);
      await nextMs();
      const recoverDate = new Date().toISOString();
      await nextMs();
      const c = e.createIndicator({ name: 'C', pattern: yara(4) });

      const client = await connect(e, `?recover=${encodeURIComponent(recoverDate)}`, { 'Last-Event-ID': '0-0' });
      try {
        await client.waitFor(() => knowledgeFrames(client).length >= 3, 'snapshot + tail');
        await sleep(50);
        const frames = knowledgeFrames(client);
        assert.equal(frames.length, 3, 'two snapshot items and one live event, nothing between start and recover replayed');
        const [s1, s2, live] = frames;
        // Snapshot: oldest update first, `<updated_at-ms>-0` ids, init-create, current state.
        assert.equal(s1!.event, 'create');
        assert.equal(internalIdOf(s1!), b.internalId);
        assert.equal(s1!.id, `${parseId(b.eventId)[0]}-0`);
        assert.equal(internalIdOf(s2!), a.internalId);
        assert.equal(s2!.id, `${parseId(aUpdate)[0]}-0`);
        assert.equal(json(s2)['data']['name'], 'A2');
        for (const s of [s1!, s2!]) {
          assert.deepEqual(json(s)['origin'], { referer: 'init-create' });
          assert.equal(json(s)['version'], '4');
        }
        assert.equal(live!.id, c.eventId);
        assert.equal(json(live)['origin']['socket'], 'query');
      } finally {
        client.close();
      }
    });
  });

  it('does not snapshot when the recover date is not after the start point', async () => {
    await withEmulator({}, async (e) => {
      const a = e.createIndicator({ name: 'A', pattern: yara(1) });
      await nextMs();
      const b = e.createIndicator({ name: 'B', pattern: yara(2) });
      const recoverDate = new Date(parseId(a.eventId)[0] - 1000).toISOString();
      const client = await connect(e, `?recover=${encodeURIComponent(recoverDate)}`, { 'Last-Event-ID': a.eventId });
      try {
        await client.waitFor(() => knowledgeFrames(client).length >= 1, 'tail');
        await sleep(50);
        assert.deepEqual(
          knowledgeFrames(client).map((f) => f.id),
          [b.eventId],
        );
        assert.equal(json(knowledgeFrames(client)[0])['type'], 'create');
      } finally {
        client.close();
      }
    });
  });
});

// ---------------------------------------------------------------- dependencies, deletes, filter

describe('OpenCTI emulator: dependencies, deletes and collection filter', () => {
  it('sends a marking create once per connection, sharing the id of the first frame that references it', async () => {
    await withEmulator({}, async (e) => {
      const a = e.createIndicator({ name: 'A', pattern: yara(1) });
      const b = e.createIndicator({ name: 'B', pattern: yara(2) });
      const upd = e.updateIndicator(a.internalId, { score: 90 });
      e.createOther('malware', 'Emotet');
      for (let round = 0; round < 2; round += 1) {
        const client = await connect(e, '?from=0');
        try {
          await client.waitFor(() => knowledgeFrames(client).length >= 4, 'all events');
          await sleep(30);
          const frames = client.dataFrames();
          const summary = frames.map((f) => [f.id, isDependency(f) ? 'dep' : f.event]);
          assert.deepEqual(
            summary,
            [
              [a.eventId, 'dep'],
              [a.eventId, 'create'],
              [b.eventId, 'create'],
              [upd, 'update'],
              [e.lastEventId(), 'create'],
            ],
            `round ${round}`,
          );
          const dep = json(frames[0]);
          assert.equal(frames[0]!.event, 'create');
          assert.equal(dep['data']['id'], TLP_GREEN_ID);
          assert.equal(dep['data']['type'], 'marking-definition');
          assert.deepEqual(json(frames[1])['data']['object_marking_refs'], [TLP_GREEN_ID]);
        } finally {
          client.close();
        }
      }
    });
  });

  it('sends no dependency frames when dependencies are disabled', async () => {
    await withEmulator({ dependencies: false }, async (e) => {
      const a = e.createIndicator({ name: 'A', pattern: yara(1) });
      const client = await connect(e, '?from=0');
      try {
        await client.waitFor(() => client.dataFrames().length >= 1, 'create');
        await sleep(30);
        assert.deepEqual(
          client.dataFrames().map((f) => [f.id, f.event]),
          [[a.eventId, 'create']],
        );
      } finally {
        client.close();
      }
    });
  });

  it('sends deletes with the object before deletion unless listen-delete is exactly false', async () => {
    await withEmulator({}, async (e) => {
      const a = e.createIndicator({ name: 'A', pattern: yara(1) });
      const del = e.deleteIndicator(a.internalId);
      const marker = e.createIndicator({ name: 'marker', pattern: yara(2) }).eventId;
      assert.equal(e.indicator(a.internalId), undefined);
      const run = async (query: string, headers: Record<string, string>) => {
        const client = await connect(e, query, headers);
        try {
          await client.waitFor(() => knowledgeFrames(client).some((f) => f.id === marker), 'marker');
          return knowledgeFrames(client);
        } finally {
          client.close();
        }
      };
      const withDeletes = await run('?from=0', {});
      const deleteFrame = withDeletes.find((f) => f.event === 'delete');
      assert.equal(deleteFrame?.id, del);
      assert.equal(json(deleteFrame)['type'], 'delete');
      assert.equal(internalIdOf(deleteFrame!), a.internalId);
      assert.equal(json(deleteFrame)['data']['pattern'], yara(1));
      assert.equal((await run('?from=0&listen-delete=true', {})).filter((f) => f.event === 'delete').length, 1);
      assert.equal((await run('?from=0&listen-delete=false', {})).filter((f) => f.event === 'delete').length, 0);
      assert.equal((await run('?from=0', { 'listen-delete': 'false' })).filter((f) => f.event === 'delete').length, 0);
      assert.equal(
        (await run('?from=0', { 'listen-delete': 'False' })).filter((f) => f.event === 'delete').length,
        1,
        'only exact lowercase false',
      );
    });
  });

  it('with filterDetection, translates detection flips into create/delete frames carrying the update envelope', async () => {
    await withEmulator({ filterDetection: true }, async (e) => {
      const client = await connect(e, '?from=0');
      const quiet = await connect(e, '?from=0&listen-delete=false');
      try {
        const a = e.createIndicator({ name: 'A', pattern: yara(1), detection: false });
        e.createOther('indicator-stix', 'evil.exe');
        e.createOther('malware', 'Emotet');
        const on = e.updateIndicator(a.internalId, { detection: true });
        const rename = e.updateIndicator(a.internalId, { name: 'A2' });
        const off = e.updateIndicator(a.internalId, { detection: false });
        e.updateIndicator(a.internalId, { name: 'A3' }); // not visible before or after: nothing
        const b = e.createIndicator({ name: 'B', pattern: yara(2) });
        await client.waitFor(() => knowledgeFrames(client).some((f) => f.id === b.eventId), 'B');
        const frames = knowledgeFrames(client);
        assert.deepEqual(
          frames.map((f) => [f.id, f.event, json(f)['type']]),
          [
            [on, 'create', 'update'],
            [rename, 'update', 'update'],
            [off, 'delete', 'update'],
            [b.eventId, 'create', 'create'],
          ],
        );
        assert.ok(json(frames[0])['context']['patch'].length > 0, 'original update envelope with context');
        // The marking precedes the first visible frame of A (the translated create).
        const firstDep = client.dataFrames().find(isDependency);
        assert.equal(firstDep?.id, on);

        await quiet.waitFor(() => knowledgeFrames(quiet).some((f) => f.id === b.eventId), 'B on quiet');
        assert.deepEqual(
          knowledgeFrames(quiet).map((f) => f.event),
          ['create', 'update', 'create'],
        );

        const collection = await graphql(e, 'query { streamCollection(id: "live-yara") { id filters stream_live } }');
        assert.match(collection.body['data']['streamCollection']['filters'], /x_opencti_detection/);
      } finally {
        client.close();
        quiet.close();
      }
    });
  });
});

// ---------------------------------------------------------------- heartbeats

describe('OpenCTI emulator: heartbeats', () => {
  it('sends heartbeats with advancing ids while idle; data is the JSON string date of the id', async () => {
    await withEmulator({ heartbeatMs: 40 }, async (e) => {
      const client = await connect(e);
      try {
        await client.waitFor(() => client.heartbeats().length >= 4, 'four heartbeats');
        const beats = client.heartbeats();
        for (const beat of beats) {
          assert.match(beat.raw, /^id: \d+-\d+\nevent: heartbeat\ndata: "[^"]+"$/);
          assert.equal(JSON.parse(beat.data), new Date(parseId(beat.id)[0]).toISOString());
        }
        for (let i = 1; i < beats.length; i += 1) assert.ok(compareIds(beats[i]!.id, beats[i - 1]!.id) >= 0, 'never goes back');
        assert.ok(compareIds(beats[beats.length - 1]!.id, beats[0]!.id) > 0, 'advances while idle');

        // Resuming from an idle heartbeat id loses nothing appended afterwards.
        const lastBeat = beats[beats.length - 1]!.id!;
        const created = e.createIndicator({ name: 'X', pattern: yara('x') });
        assert.ok(compareIds(created.eventId, lastBeat) > 0);
        const resumed = await connect(e, '', { 'Last-Event-ID': lastBeat });
        try {
          await resumed.waitFor(() => knowledgeFrames(resumed).length === 1, 'event after heartbeat');
          assert.equal(knowledgeFrames(resumed)[0]!.id, created.eventId);
        } finally {
          resumed.close();
        }
      } finally {
        client.close();
      }
    });
  });

  it('heartbeat ids move past filtered-out events and start at the requested start id', async () => {
    await withEmulator({ heartbeatMs: 40, filterDetection: true }, async (e) => {
      const hidden = e.createIndicator({ name: 'H', pattern: yara(1), detection: false });
      const start = '1-0';
      const client = await connect(e, `?from=${start}`);
      try {
        await client.waitFor(() => client.heartbeats().some((h) => compareIds(h.id, hidden.eventId) >= 0), 'heartbeat past hidden event');
        assert.equal(knowledgeFrames(client).length, 0, 'the filtered event is not sent');
      } finally {
        client.close();
      }
    });
  });

  it('stops heartbeats when disabled (silent stream) and resumes when re-enabled', async () => {
    await withEmulator({ heartbeatMs: 30 }, async (e) => {
      const client = await connect(e);
      try {
        await client.waitFor(() => client.heartbeats().length >= 1, 'a heartbeat');
        e.setHeartbeats(false);
        await sleep(40); // let a tick that was already due pass
        const count = client.heartbeats().length;
        await sleep(200);
        assert.equal(client.heartbeats().length, count, 'silent');
        e.setHeartbeats(true);
        await client.waitFor(() => client.heartbeats().length > count, 'heartbeats again');
      } finally {
        client.close();
      }
    });
  });
});

// ---------------------------------------------------------------- statuses and faults

describe('OpenCTI emulator: statuses and faults', () => {
  async function expectStatus(url: string, headers: Record<string, string>, status: number, reason: string): Promise<void> {
    const r = await openStream(url, headers);
    assert.equal(r.status, status);
    assert.equal(r.statusMessage, reason);
    assert.equal(r.body, '', 'empty body');
    assert.equal(r.client, undefined);
  }

  it('answers 401/410/500 with empty bodies, reason phrases and the platform check order', async () => {
    await withEmulator({}, async (e) => {
      const good = auth(e);
      const bad = { Authorization: 'Bearer nope' };
      const notAuthorized = 'You are not authorized, please check your credentials';
      const notAuthenticated = 'You are not authenticated, please check your credentials';
      await expectStatus(`${e.url}/stream/unknown`, good, 401, notAuthorized);
      await expectStatus(`${e.url}/stream/unknown`, bad, 401, notAuthorized);
      await expectStatus(`${e.url}/stream/${e.streamId}`, bad, 401, notAuthenticated);
      await expectStatus(`${e.url}/stream/${e.streamId}`, {}, 401, notAuthenticated);
      await expectStatus(
        `${e.url}/stream/${e.streamId}?recover=2025-01-01T00:00:00Z`,
        good,
        500,
        `Error in stream ${e.streamId}: Recovery mode is only possible with a start date.`,
      );
      await expectStatus(`${e.url}/stream`, good, 401, 'Consume generic stream is only authorized for bypass user');
      e.setStreamLive(false);
      await expectStatus(`${e.url}/stream/${e.streamId}`, bad, 410, 'This live stream is stopped'); // 410 before auth
      await expectStatus(`${e.url}/stream/${e.streamId}`, good, 410, 'This live stream is stopped');
      e.setStreamLive(true);
      const ok = await openStream(`${e.url}/stream/${e.streamId}`, good);
      assert.equal(ok.status, 200);
      ok.client!.close();
    });
  });

  it('dropConnections ends open streams (EOF) and the client can reconnect', async () => {
    await withEmulator({}, async (e) => {
      const client = await connect(e);
      await client.waitFor(() => e.connections() === 1, 'registered connection');
      e.dropConnections();
      await client.waitFor(() => client.ended, 'EOF');
      await client.waitFor(() => e.connections() === 0, 'connection released');
      const again = await connect(e);
      assert.equal(e.connections(), 1);
      again.close();
    });
  });

  it('setStreamLive(false) ends open streams, then reconnects get 410', async () => {
    await withEmulator({}, async (e) => {
      const client = await connect(e);
      e.setStreamLive(false);
      await client.waitFor(() => client.ended, 'stream end');
      assert.ok(!client.frames.some((f) => f.event === 'error'), 'no SSE error event');
      const r = await openStream(`${e.url}/stream/${e.streamId}`, auth(e));
      assert.equal(r.status, 410);
      assert.equal(r.statusMessage, 'This live stream is stopped');
    });
  });

  it('setToken rotates the accepted token', async () => {
    await withEmulator({}, async (e) => {
      const old = e.token;
      e.setToken('rotated');
      const r = await openStream(`${e.url}/stream/${e.streamId}`, { Authorization: `Bearer ${old}` });
      assert.equal(r.status, 401);
      const client = await connect(e); // uses e.token === 'rotated'
      client.close();
      const gq = await graphql(e, 'query { streamCollection(id: "live-yara") { id } }', {}, old);
      assert.equal(gq.body['errors'][0]['extensions']['code'], 'AUTH_REQUIRED');
    });
  });

  it('logs stream requests with the authorization header redacted', async () => {
    await withEmulator({}, async (e) => {
      const client = await connect(e, '?recover=2030-01-01T00:00:00Z', { 'Last-Event-ID': '0-0', 'listen-delete': 'false' });
      client.close();
      const [request] = e.streamRequests();
      assert.ok(request);
      assert.equal(request.headers['authorization'], 'Bearer ***');
      assert.equal(request.headers['last-event-id'], '0-0');
      assert.equal(request.headers['listen-delete'], 'false');
      assert.deepEqual(request.query, { recover: '2030-01-01T00:00:00Z' });
      assert.ok(!JSON.stringify(e.streamRequests()).includes(e.token));
    });
  });
});

// ---------------------------------------------------------------- GraphQL

describe('OpenCTI emulator: GraphQL', () => {
  it('registers, pings, keeps state across registration and performs the reset handshake', async () => {
    await withEmulator({}, async (e) => {
      assert.equal(e.connectorState(CONNECTOR_ID), undefined);
      const reg = await graphql(e, REGISTER, { input: registerInput });
      assert.equal(reg.status, 200);
      const connector = reg.body['data']['registerConnector'];
      assert.equal(connector['id'], CONNECTOR_ID);
      assert.equal(connector['connector_state'], null);
      assert.deepEqual(Object.keys(connector['config']['connection']).sort(), ['host', 'pass', 'port', 'use_ssl', 'user', 'vhost']);
      assert.equal(typeof connector['config']['connection']['port'], 'number');
      assert.equal(typeof connector['connector_user_id'], 'string');
      assert.equal(e.connectorState(CONNECTOR_ID), null);

      const info = {
        run_and_terminate: false,
        buffering: false,
        queue_threshold: 500,
        queue_messages_size: 0,
        next_run_datetime: null,
        last_run_datetime: null,
      };
      const state1 = JSON.stringify({ start_from: '1741161720789-0', recover_until: '2025-03-04T14:53:20Z' });
      const ping1 = await graphql(e, PING, { id: CONNECTOR_ID, state: state1, connectorInfo: info });
      assert.equal(ping1.body['data']['pingConnector']['connector_state'], state1);
      assert.equal(ping1.body['data']['pingConnector']['connector_info']['queue_threshold'], 500);
      assert.equal(e.connectorState(CONNECTOR_ID), state1);

      const again = await graphql(e, REGISTER, { input: { ...registerInput, name: 'Renamed' } });
      assert.equal(again.body['data']['registerConnector']['connector_state'], state1, 'state kept on re-registration');

      e.resetConnectorState(CONNECTOR_ID);
      assert.equal(e.connectorState(CONNECTOR_ID), '');
      const state2 = JSON.stringify({ start_from: '1741161799999-0', recover_until: '2025-03-04T14:53:20Z' });
      const resetPing = await graphql(e, PING, { id: CONNECTOR_ID, state: state2, connectorInfo: info });
      assert.equal(resetPing.body['data']['pingConnector']['connector_state'], '', 'the reset reaches the connector');
      assert.equal(e.connectorState(CONNECTOR_ID), '', 'state sent with the reset ping is discarded');
      const state3 = JSON.stringify({ start_from: '0-0', recover_until: '2025-03-05T00:00:00Z' });
      const next = await graphql(e, PING, { id: CONNECTOR_ID, state: state3, connectorInfo: info });
      assert.equal(next.body['data']['pingConnector']['connector_state'], state3);
      assert.equal(e.connectorState(CONNECTOR_ID), state3);

      const [summary] = e.connectors();
      assert.equal(summary?.name, 'Renamed');
      assert.equal(summary?.type, 'STREAM');
      assert.deepEqual(summary?.scope, ['yara']);
      assert.equal(summary?.pings, 3);
      assert.equal(typeof summary?.lastSeen, 'number');
    });
  });

  it('reports errors as HTTP 200 with errors[] (unknown connector, missing auth, bad selection)', async () => {
    await withEmulator({}, async (e) => {
      const unknown = await graphql(e, PING, { id: 'nope', state: 'null' });
      assert.equal(unknown.status, 200);
      assert.equal(unknown.body['errors'][0]['message'], 'No connector found with the specified ID');
      assert.equal(unknown.body['data']['pingConnector'], null);

      const anonymous = await graphql(e, REGISTER, { input: registerInput }, null);
      assert.equal(anonymous.status, 200);
      assert.equal(anonymous.body['errors'][0]['extensions']['code'], 'AUTH_REQUIRED');
      assert.equal(anonymous.body['errors'][0]['message'], 'You must be logged in to do this.');
      assert.equal(e.connectorState(CONNECTOR_ID), undefined, 'nothing registered without auth');

      const typo = await graphql(e, 'mutation { registerConnector(input: {id: "x", name: "xx", type: STREAM}) { id connector_stat } }');
      assert.equal(typo.status, 200);
      assert.match(typo.body['errors'][0]['message'], /Cannot query field "connector_stat" on type "Connector"/);
      assert.equal(e.connectorState('x'), undefined);

      const invalid = await graphql(e, REGISTER, { input: { ...registerInput, type: 'NOPE' } });
      assert.equal(invalid.body['errors'][0]['extensions']['code'], 'BAD_USER_INPUT');

      const syntax = await graphql(e, 'mutation { registerConnector(');
      assert.equal(syntax.status, 200);
      assert.equal(syntax.body['errors'][0]['extensions']['code'], 'GRAPHQL_PARSE_FAILED');
    });
  });

  it('serves streamCollection and deleteConnector, with inline literals and aliases', async () => {
    await withEmulator({}, async (e) => {
      const sc = await graphql(
        e,
        'query StreamCollection($id: String!) { streamCollection(id: $id) { id name stream_live stream_public } }',
        { id: e.streamId },
      );
      assert.deepEqual(sc.body['data']['streamCollection'], {
        id: e.streamId,
        name: sc.body['data']['streamCollection']['name'],
        stream_live: true,
        stream_public: false,
      });
      const missing = await graphql(e, 'query { streamCollection(id: "other") { id } }');
      assert.equal(missing.body['data']['streamCollection'], null);
      e.setStreamLive(false);
      const stopped = await graphql(e, 'query { c: streamCollection(id: "live-yara") { stream_live } }');
      assert.equal(stopped.body['data']['c']['stream_live'], false);

      await graphql(e, REGISTER, { input: registerInput });
      const byConnector = await graphql(e, `mutation { deleteConnector(id: "${CONNECTOR_ID}") }`);
      assert.equal(byConnector.body['errors'][0]['extensions']['code'], 'FORBIDDEN_ACCESS', 'a connector token lacks MODULES_MODMANAGE');
      assert.equal(byConnector.body['errors'][0]['message'], 'You are not allowed to do this.');
      assert.equal(byConnector.body['data']['deleteConnector'], null);
      assert.equal(e.connectorState(CONNECTOR_ID), null, 'still registered');

      const del = await graphql(e, `mutation { deleteConnector(id: "${CONNECTOR_ID}") }`, {}, e.adminToken);
      assert.equal(del.body['data']['deleteConnector'], CONNECTOR_ID);
      assert.equal(e.connectorState(CONNECTOR_ID), undefined);
      const again = await graphql(e, 'mutation D($id: ID!) { deleteConnector(id: $id) }', { id: CONNECTOR_ID }, e.adminToken);
      assert.equal(again.body['errors'][0]['message'], 'No connector found with the specified ID');
    });
  });

  it('answers pycti’s health check and the registration selection of pycti 7.x (jwks, config.s3)', async () => {
    await withEmulator({}, async (e) => {
      const about = await graphql(e, 'query healthCheck { about { version } }');
      assert.match(about.body['data']['about']['version'], /^\d+\.\d+\.\d+$/);
      const anonymous = await graphql(e, 'query healthCheck { about { version } }', {}, null);
      assert.equal(anonymous.body['errors'][0]['extensions']['code'], 'AUTH_REQUIRED');

      const register7 = `mutation RegisterConnector($input: RegisterConnectorInput) {
        registerConnector(input: $input) {
          id connector_state jwks
          config {
            connection { host vhost use_ssl port user pass }
            s3 { endpoint port use_ssl bucket_name bucket_region access_key secret_key }
            listen listen_routing listen_exchange push push_routing push_exchange
          }
          connector_user_id
        }
      }`;
      const input = {
        ...registerInput,
        auto_update: false,
        enrichment_resolution: 'none',
        only_contextual: false,
        playbook_compatible: false,
        listen_callback_uri: null,
        version: null,
        slug: null,
      };
      const reg = await graphql(e, register7, { input });
      assert.equal(reg.body['errors'], undefined);
      const connector = reg.body['data']['registerConnector'];
      const jwks = JSON.parse(connector['jwks']);
      assert.equal(jwks['keys'][0]['kty'], 'RSA');
      assert.equal(typeof connector['config']['s3']['port'], 'number');
      assert.equal(typeof connector['config']['s3']['bucket_name'], 'string');
    });
  });

  it('refuses what the platform’s GraphQL server refuses: unknown arguments, unknown input fields, wrong variable types', async () => {
    await withEmulator({}, async (e) => {
      const misspelledArgument = await graphql(e, 'mutation P($id: ID!) { pingConnector(ids: $id) { id } }', { id: CONNECTOR_ID });
      assert.equal(misspelledArgument.body['errors'][0]['extensions']['code'], 'GRAPHQL_VALIDATION_FAILED');
      assert.match(misspelledArgument.body['errors'][0]['message'], /Unknown argument "ids" on field "Mutation.pingConnector"/);

      const unknownField = await graphql(e, REGISTER, { input: { ...registerInput, scopes: ['yara'] } });
      assert.equal(unknownField.body['errors'][0]['extensions']['code'], 'BAD_USER_INPUT');
      assert.match(unknownField.body['errors'][0]['message'], /Field "scopes" is not defined by type "RegisterConnectorInput"/);
      assert.equal(unknownField.body['data'], undefined, 'nothing executed');
      assert.equal(e.connectorState(CONNECTOR_ID), undefined, 'nothing registered');

      const unknownLiteralField = await graphql(
        e,
        'mutation { registerConnector(input: {id: "x", name: "xx", type: STREAM, colour: "red"}) { id } }',
      );
      assert.equal(unknownLiteralField.body['errors'][0]['extensions']['code'], 'GRAPHQL_VALIDATION_FAILED');
      assert.match(unknownLiteralField.body['errors'][0]['message'], /Field "colour" is not defined by type "RegisterConnectorInput"/);

      const wrongDeclaredType = await graphql(e, 'query S($id: ID!) { streamCollection(id: $id) { id } }', { id: e.streamId });
      assert.equal(wrongDeclaredType.body['errors'][0]['extensions']['code'], 'GRAPHQL_VALIDATION_FAILED');
      assert.match(
        wrongDeclaredType.body['errors'][0]['message'],
        /Variable "\$id" of type "ID!" used in position expecting type "String!"/,
      );

      await graphql(e, REGISTER, { input: registerInput });
      const wrongValue = await graphql(e, PING, { id: CONNECTOR_ID, state: { start_from: '1-0' } });
      assert.equal(wrongValue.body['errors'][0]['extensions']['code'], 'BAD_USER_INPUT');
      assert.match(wrongValue.body['errors'][0]['message'], /Variable "\$state" got invalid value/);
      const info = { run_and_terminate: false, buffering: false, queue_threshold: 'lots', queue_messages_size: 0 };
      const wrongInfo = await graphql(e, PING, { id: CONNECTOR_ID, state: 'null', connectorInfo: info });
      assert.match(wrongInfo.body['errors'][0]['message'], /Float cannot represent non numeric value: "lots"/);
      const badDate = await graphql(e, PING, {
        id: CONNECTOR_ID,
        state: 'null',
        connectorInfo: { ...info, queue_threshold: 500, last_run_datetime: 'yesterday' },
      });
      assert.equal(badDate.body['errors'][0]['extensions']['code'], 'BAD_USER_INPUT');
      assert.match(badDate.body['errors'][0]['message'], /DateTime cannot represent an invalid date-time-string "yesterday"/);
      assert.equal(e.connectors()[0]?.pings, 0, 'no refused ping reached the registry');

      const missingRequired = await graphql(e, REGISTER, { input: { id: 'y', name: 'Only a name' } });
      assert.match(missingRequired.body['errors'][0]['message'], /Field "type" of required type "ConnectorType!" was not provided/);
    });
  });

  it('coerces a single string to a list, as GraphQL input coercion does for `scope`', async () => {
    await withEmulator({}, async (e) => {
      const reg = await graphql(e, REGISTER, { input: { ...registerInput, scope: 'yara' } });
      assert.equal(reg.body['errors'], undefined);
      assert.deepEqual(e.connectors()[0]?.scope, ['yara']);
    });
  });
});

// ---------------------------------------------------------------- control surface and bulk

describe('OpenCTI emulator: control surface', () => {
  it('drives indicators, merges, raw frames and stream controls over HTTP', async () => {
    await withEmulator({ heartbeatMs: 30 }, async (e) => {
      const client = await connect(e);
      try {
        const created = await control(e, 'POST', '/indicators', { name: 'A', pattern: yara(1), score: 70 });
        assert.equal(created.status, 201);
        const { internalId, eventId } = created.body as { internalId: string; eventId: string };
        const b = (await control(e, 'POST', '/indicators', { name: 'B', pattern: yara(2) })).body as {
          internalId: string;
          eventId: string;
        };
        const got = await control(e, 'GET', `/indicators/${internalId}`);
        assert.equal(got.body['extensions'][OPENCTI_EXTENSION]['score'], 70);
        const patched = await control(e, 'PATCH', `/indicators/${internalId}`, { detection: false });
        assert.equal(patched.status, 200);
        assert.equal((e.indicator(internalId) as Json)['extensions'][OPENCTI_EXTENSION]['detection'], false);
        const merged = await control(e, 'POST', '/merge', { target: internalId, sources: [b.internalId] });
        assert.equal(merged.status, 200);
        const raw = await control(e, 'POST', '/raw', { event: 'consumer_metrics', data: '{}' });
        const deleted = await control(e, 'DELETE', `/indicators/${internalId}`);
        assert.equal(deleted.status, 200);
        assert.equal((await control(e, 'GET', `/indicators/${internalId}`)).status, 404);
        assert.equal((await control(e, 'PATCH', `/indicators/${internalId}`, { name: 'x' })).status, 404);
        assert.equal((await control(e, 'POST', '/indicators', { name: 'bad' })).status, 400);

        await client.waitFor(() => client.dataFrames().some((f) => f.id === deleted.body.eventId), 'all control events');
        assert.deepEqual(
          knowledgeFrames(client).map((f) => [f.id, f.event]),
          [
            [eventId, 'create'],
            [b.eventId, 'create'],
            [patched.body.eventId, 'update'],
            [merged.body.eventId, 'merge'],
            [raw.body.eventId, 'consumer_metrics'],
            [deleted.body.eventId, 'delete'],
          ],
        );

        assert.deepEqual((await control(e, 'POST', '/heartbeats', { on: false })).body, { on: false });
        await sleep(40);
        const beats = client.heartbeats().length;
        await sleep(120);
        assert.equal(client.heartbeats().length, beats);
        await control(e, 'POST', '/heartbeats', { on: true });

        assert.deepEqual((await control(e, 'POST', '/drop')).body, { dropped: 1 });
        await client.waitFor(() => client.ended, 'EOF after /drop');
        assert.deepEqual((await control(e, 'POST', '/live', { live: false })).body, { live: false });
        assert.equal((await openStream(`${e.url}/stream/${e.streamId}`, auth(e))).status, 410);
        await control(e, 'POST', '/live', { live: true });

        const requests = await control(e, 'GET', '/stream-requests');
        assert.equal(requests.body.length, 2);
        assert.equal(requests.body[0].headers.authorization, 'Bearer ***');
      } finally {
        client.close();
      }
    });
  });

  it('lists connectors and resets their state over HTTP', async () => {
    await withEmulator({}, async (e) => {
      await graphql(e, REGISTER, { input: registerInput });
      await graphql(e, PING, { id: CONNECTOR_ID, state: '{"start_from":"1-0"}' });
      const list = await control(e, 'GET', '/connectors');
      assert.equal(list.body[0].id, CONNECTOR_ID);
      assert.equal(list.body[0].pings, 1);
      const reset = await control(e, 'POST', `/connectors/${CONNECTOR_ID}/reset`);
      assert.equal(reset.status, 200);
      assert.equal(e.connectorState(CONNECTOR_ID), '');
      const ping = await graphql(e, PING, { id: CONNECTOR_ID, state: '{"start_from":"2-0"}' });
      assert.equal(ping.body['data']['pingConnector']['connector_state'], '');
      assert.equal((await control(e, 'POST', '/connectors/unknown/reset')).status, 404);
    });
  });

  it('streams a 10,000-indicator bulk completely to a live and to a replaying client', async () => {
    await withEmulator({ heartbeatMs: 100 }, async (e) => {
      const live = await connect(e);
      try {
        const specs = Array.from({ length: 10_000 }, (_, i) => ({ name: `Bulk_${i}`, pattern: yara(`bulk${i}`), labels: ['bulk'] }));
        const bulk = await control(e, 'POST', '/indicators/bulk', specs);
        assert.equal(bulk.status, 201);
        assert.equal(bulk.body.length, 10_000);
        const lastId = bulk.body[9_999].eventId as string;
        const replay = await connect(e, '?from=0');
        try {
          for (const client of [live, replay]) {
            await client.waitFor(() => client.frames[client.frames.length - 1]?.id === lastId, 'the whole bulk', 60_000);
            const creates = knowledgeFrames(client);
            assert.equal(creates.length, 10_000);
            assert.equal(client.dataFrames().filter(isDependency).length, 1, 'the shared marking once per connection');
            for (let i = 1; i < creates.length; i += 1) assert.ok(compareIds(creates[i]!.id, creates[i - 1]!.id) > 0);
            assert.equal(new Set(creates.map(internalIdOf)).size, 10_000);
            assert.equal(json(creates[9_999])['data']['name'], 'Bulk_9999');
          }
        } finally {
          replay.close();
        }
      } finally {
        live.close();
      }
    });
  });
});
