/**
 * Temporal unreachable from the starter for a while (a TCP proxy in between is cut): deliveries
 * are retried, the saved position never passes an undelivered event, the stream is paused once
 * too many frames wait (bounded memory), and everything arrives once Temporal is back.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { compareStreamIds } from '../../domain/stream-id';
import { waitFor } from '../support/processes';
import { Stack } from '../support/stack';
import { useTestTemporal } from '../support/temporal';

const rule = (name: string) => `rule ${name} {\n  condition:\n    true\n}`;

/** A TCP relay to the Temporal frontend that can be cut (connections reset, new ones refused). */
class CuttableProxy {
  private readonly sockets = new Set<net.Socket>();
  private open = true;

  private constructor(
    private readonly server: net.Server,
    readonly address: string,
  ) {}

  static async start(target: string): Promise<CuttableProxy> {
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    let proxy!: CuttableProxy;
    const server = net.createServer((client) => {
      if (!proxy.open) return void client.destroy();
      const upstream = net.connect(port, host);
      for (const socket of [client, upstream]) {
        proxy.sockets.add(socket);
        socket.on('close', () => proxy.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new CuttableProxy(server, `127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    return proxy;
  }

  cut(): void {
    this.open = false;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.open = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const temporal = useTestTemporal();

test('Temporal unreachable: nothing claimed past the undelivered, the stream paused when the buffer is full, nothing lost', async () => {
  const proxy = await CuttableProxy.start(temporal().address);
  const stack = await Stack.start(temporal(), {
    starter: false,
    env: { CONNECTOR_MAX_BUFFERED_EVENTS: '30', CONNECTOR_MAX_IN_FLIGHT_EVENTS: '4' },
  });
  const savedStart = () => {
    const raw = stack.opencti.connectorState(stack.connectorId);
    return raw ? (JSON.parse(raw) as { start_from: string }).start_from : undefined;
  };
  try {
    // Only the starter goes through the proxy; the worker keeps its own connection.
    stack.env = { ...stack.env, TEMPORAL_ADDRESS: proxy.address };
    stack.restartStarter();
    const warmup = stack.opencti.createIndicator({ name: 'Before_Outage', pattern: rule('Before_Outage') });
    await stack.applied(warmup.internalId, warmup.eventId);
    await waitFor('the position to reach the warm-up event', () => compareStreamIds(savedStart() ?? '0-0', warmup.eventId) >= 0);

    proxy.cut();
    const during: Array<{ internalId: string; eventId: string }> = [];
    for (let i = 0; i < 120; i++) during.push(stack.opencti.createIndicator({ name: `Outage_${i}`, pattern: rule(`Outage_${i}`) }));
    const firstUndelivered = during[0]!.eventId;

    await waitFor('the stream to be paused', () => stack.starter!.log().includes('pausing the stream'), 30_000);
    await waitFor('the connection to be closed', () => stack.opencti.connections() === 0, 10_000);
    const requestsWhilePaused = stack.opencti.streamRequests().length;
    // Several saves happen meanwhile (every 2 s when the position moves, 30 s pings otherwise),
    // heartbeats included: none may claim an undelivered event.
    for (let i = 0; i < 12; i++) {
      const start = savedStart()!;
      assert.ok(compareStreamIds(start, firstUndelivered) < 0, `saved ${start} would skip ${firstUndelivered}, still undelivered`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.equal(stack.opencti.streamRequests().length, requestsWhilePaused, 'no reconnection while paused');
    assert.equal(stack.opencti.connections(), 0, 'still paused');
    await waitFor(
      'the failed deliveries to be reported',
      () => /could not hand an event to Temporal; retrying/.test(stack.starter!.log()),
      30_000,
    );
    assert.ok(compareStreamIds(savedStart()!, firstUndelivered) < 0, 'still nothing claimed past the undelivered');

    proxy.restore();
    await waitFor('the stream to resume', () => stack.starter!.log().includes('resuming the stream'), 120_000);
    for (const { internalId, eventId } of during) await stack.applied(internalId, eventId, 180_000);
    assert.equal(stack.vt.rulesets().length, 121, 'every indicator has its ruleset, once');
    assert.equal(new Set(stack.vt.rulesets().map((r) => r.name)).size, 121);
    const resumed = stack.opencti.streamRequests()[requestsWhilePaused];
    assert.ok(resumed, 'reconnected after the pause');
    assert.ok(
      compareStreamIds(resumed.headers['last-event-id'] ?? '', warmup.eventId) >= 0,
      'resumed where it had read to, not from the beginning',
    );
    await waitFor(
      'the position to reach the last event',
      () => compareStreamIds(savedStart() ?? '0-0', during[during.length - 1]!.eventId) >= 0,
      60_000,
    );
  } finally {
    await stack.stop();
    await proxy.close();
  }
});
