/**
 * The acknowledged position (starter/watermark.ts): the basics, the heartbeat that races a
 * dependency frame, bounded memory, snapshots, and a randomised check of the one property that
 * matters: resuming from the saved position never skips an event Temporal has not acknowledged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareStreamIds } from '../../domain/stream-id';
import { StreamWatermark, type FrameTicket } from '../../starter/watermark';

test('a heartbeat between a dependency frame and the object sharing its id does not complete that id', () => {
  const watermark = new StreamWatermark('1-0');
  watermark.frame('10-0', { final: false }).done(); // the marking the indicator references
  watermark.heartbeat('10-0'); // the platform's timer fired while it resolved the next dependency
  assert.equal(watermark.position(), '1-0', 'saving 10-0 now would make a crash skip the indicator event');
  assert.equal(watermark.resumeFrom(), '1-0', 'a reconnection must ask for 10-0 again');
  watermark.frame('10-0').done(); // the indicator event
  watermark.heartbeat('10-0');
  assert.equal(watermark.position(), '10-0');
});

test('a malformed frame counts as possibly a dependency: its id waits for a greater one', () => {
  const watermark = new StreamWatermark('1-0');
  watermark.frame('10-0', { final: false }).done();
  watermark.heartbeat('10-0');
  assert.equal(watermark.position(), '1-0');
  watermark.heartbeat('11-0');
  assert.equal(watermark.position(), '11-0');
});

test('a heartbeat right after the object frame completes the id', () => {
  const watermark = new StreamWatermark('1-0');
  watermark.frame('10-0', { final: false }).done();
  watermark.frame('10-0').done();
  watermark.heartbeat('10-0');
  assert.equal(watermark.position(), '10-0');
});

test('a ticket acknowledged twice is counted once', () => {
  const watermark = new StreamWatermark('0-0');
  const first = watermark.frame('1-0');
  watermark.frame('2-0');
  first.done();
  first.done();
  assert.equal(watermark.inFlight(), 1);
});

test('memory stays bounded while everything is acknowledged, and grows only behind a pending frame', () => {
  const watermark = new StreamWatermark('0-0');
  for (let i = 1; i <= 20_000; i++) watermark.frame(`${i}-0`).done();
  assert.ok(watermark.held() < 2_100, `held ${watermark.held()} frames although all were acknowledged`);

  const stuck = watermark.frame('30000-0');
  for (let i = 30_001; i <= 33_000; i++) watermark.frame(`${i}-0`).done();
  watermark.heartbeat('33000-0');
  assert.equal(watermark.position(), '20000-0', 'nothing past the pending frame is claimed');
  assert.equal(watermark.resumeFrom(), '33000-0', 'but a reconnection need not receive them again');
  assert.ok(watermark.held() > 3_000, 'frames behind the pending one are kept: they decide the position once it is acknowledged');
  stuck.done();
  assert.equal(watermark.position(), '33000-0');
  assert.ok(watermark.held() <= 1, `held ${watermark.held()} after everything was acknowledged`);
});

test('acknowledged snapshot frames are forgotten, pending ones still hold back the live tail', () => {
  const watermark = new StreamWatermark('0-0', '1000000-0');
  const tickets: FrameTicket[] = [];
  for (let i = 0; i < 5_000; i++) tickets.push(watermark.frame(`${(i * 7919) % 999_983}-0`));
  for (const ticket of tickets.slice(1)) ticket.done();
  watermark.heartbeat('999000-0');
  assert.equal(watermark.position(), '0-0');
  assert.ok(watermark.held() < 10, `held ${watermark.held()} snapshot frames already handed over`);
  assert.equal(watermark.pastSnapshot(), false, 'closing the stream now would replay the snapshot');
  watermark.frame('1000005-0').done();
  watermark.heartbeat('1000009-0');
  assert.equal(watermark.pastSnapshot(), true);
  assert.equal(watermark.position(), '0-0', 'the first snapshot frame is still with the dispatcher');
  tickets[0]!.done();
  assert.equal(watermark.position(), '1000009-0');
});

/** A tiny deterministic PRNG, so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Sent = { kind: 'dependency' | 'event' | 'ignored'; id: string } | { kind: 'heartbeat'; id: string };

/**
 * What the platform may send: events with increasing ids, each preceded by dependency frames
 * sharing its id, with heartbeats carrying the last id sent at any point, even between a
 * dependency and its object.
 */
function platformStream(next: () => number, events: number): Sent[] {
  const frames: Sent[] = [];
  let ms = 1_000;
  let lastId: string | undefined;
  const maybeHeartbeat = () => {
    if (lastId && next() < 0.15) frames.push({ kind: 'heartbeat', id: lastId });
  };
  for (let i = 0; i < events; i++) {
    ms += next() < 0.3 ? 0 : 1 + Math.floor(next() * 3);
    const seq = frames.filter((f) => f.id.startsWith(`${ms}-`)).length; // a fresh id in this ms
    const id = `${ms}-${seq + 1000}`;
    for (let d = Math.floor(next() * 3); d > 0; d--) {
      frames.push({ kind: 'dependency', id });
      lastId = id;
      maybeHeartbeat();
    }
    frames.push({ kind: next() < 0.7 ? 'event' : 'ignored', id });
    lastId = id;
    maybeHeartbeat();
  }
  return frames;
}

test('randomised: the saved position never skips an event that is not acknowledged', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const next = random(seed);
    const frames = platformStream(next, 40);
    const cut = Math.floor(next() * (frames.length + 1)); // the crash: frames after it never arrived
    const watermark = new StreamWatermark('0-0');
    const acknowledged = new Set<number>();
    const pending: Array<{ index: number; ticket: FrameTicket }> = [];
    const settleSome = () => {
      while (pending.length > 0 && next() < 0.5) {
        const [item] = pending.splice(Math.floor(next() * pending.length), 1);
        item!.ticket.done();
        acknowledged.add(item!.index);
      }
    };
    frames.slice(0, cut).forEach((frame, index) => {
      if (frame.kind === 'heartbeat') watermark.heartbeat(frame.id);
      else if (frame.kind === 'event') pending.push({ index, ticket: watermark.frame(frame.id) });
      else {
        watermark.frame(frame.id, { final: frame.kind !== 'dependency' }).done();
        acknowledged.add(index);
      }
      settleSome();
    });
    const saved = watermark.position()!;
    const resume = watermark.resumeFrom()!;
    frames.forEach((frame, index) => {
      if (frame.kind !== 'event') return;
      // Resume is exclusive: whatever is at or below the saved id is never sent again.
      if (compareStreamIds(frame.id, saved) <= 0)
        assert.ok(acknowledged.has(index), `seed ${seed}: saved ${saved} skips unacknowledged event ${frame.id}`);
      if (compareStreamIds(frame.id, resume) <= 0)
        assert.ok(index < cut, `seed ${seed}: resuming from ${resume} skips event ${frame.id} never received`);
    });
  }
});

test('an acknowledged frame is claimed only once a greater id has arrived', () => {
  const watermark = new StreamWatermark('0-0');
  watermark.frame('100-0').done();
  assert.equal(watermark.position(), '0-0', 'id 100-0 may still have frames to come (dependencies share ids)');
  watermark.frame('101-0');
  assert.equal(watermark.position(), '100-0');
});

test('a heartbeat completes its id', () => {
  const watermark = new StreamWatermark(undefined);
  watermark.frame('5-0').done();
  watermark.heartbeat('5-0');
  assert.equal(watermark.position(), '5-0');
});

test('a dependency frame sharing the id of a pending indicator frame does not move the position', () => {
  const watermark = new StreamWatermark('1-0');
  watermark.frame('10-0').done(); // dependency (ignored, acknowledged at once)
  const indicator = watermark.frame('10-0'); // the indicator event itself, in flight
  watermark.frame('11-0').done();
  assert.equal(watermark.position(), '1-0', 'saving 10-0 would make a crash skip the indicator event');
  assert.equal(watermark.resumeFrom(), '10-0', 'every frame of 10-0 was received');
  indicator.done();
  assert.equal(watermark.position(), '10-0');
});

test('an unacknowledged frame holds back everything after it', () => {
  const watermark = new StreamWatermark('0-0');
  const slow = watermark.frame('1-0');
  watermark.frame('2-0').done();
  watermark.frame('3-0').done();
  watermark.heartbeat('3-0');
  assert.equal(watermark.position(), '0-0');
  slow.done();
  assert.equal(watermark.position(), '3-0');
  assert.equal(watermark.inFlight(), 0);
});

test('recover snapshot frames are never claimed, whatever their order', () => {
  const watermark = new StreamWatermark('0-0', '1000-0');
  watermark.frame('300-0').done();
  watermark.frame('100-0').done();
  watermark.heartbeat('300-0');
  watermark.frame('200-0').done();
  assert.equal(watermark.position(), '0-0', 'a crash mid-snapshot must replay the snapshot');
  watermark.frame('1500-0').done();
  watermark.heartbeat('1500-0');
  assert.equal(watermark.position(), '1500-0');
});

test('a pending snapshot frame holds back live frames too', () => {
  const watermark = new StreamWatermark('0-0', '1000-0');
  const snapshot = watermark.frame('300-0');
  watermark.frame('1500-0').done();
  watermark.heartbeat('1600-0');
  assert.equal(watermark.position(), '0-0');
  snapshot.done();
  assert.equal(watermark.position(), '1600-0');
});

test('ids compare numerically, not as text', () => {
  const watermark = new StreamWatermark('9-0');
  watermark.frame('10-0').done();
  watermark.heartbeat('10-0');
  assert.equal(watermark.position(), '10-0');
});

test('a barrier at the snapshot floor keeps the live tail unclaimed until it is lifted', () => {
  const watermark = new StreamWatermark('0-0', '500-0');
  const barrier = watermark.barrier('500-0');
  watermark.frame('300-0').done(); // snapshot
  watermark.frame('501-0').done(); // live tail
  watermark.heartbeat('502-0');
  assert.equal(watermark.position(), '0-0', 'the sweep the snapshot calls for is not with Temporal yet');
  assert.equal(watermark.resumeFrom(), '502-0', 'a reconnection still resumes past the snapshot');
  assert.equal(watermark.pastSnapshot(), true);
  assert.equal(watermark.inFlight(), 0, 'a barrier is no frame in flight: back-pressure must not wait for it');
  assert.equal(watermark.held(), 2, 'only the live-tail frame and heartbeat queued behind it count');
  barrier.done();
  assert.equal(watermark.position(), '502-0');
  assert.equal(watermark.inFlight(), 0);
});
