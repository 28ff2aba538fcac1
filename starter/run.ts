/**
 * The starter role: reads the OpenCTI live stream, hands each YARA indicator event to its
 * workflow, and saves as the connector state only the position Temporal has acknowledged.
 */
import type { Client } from '@temporalio/client';
import type { StarterConfig } from '../config/load';
import { backoffDelay } from '../common/backoff';
import { createHttpClient } from '../common/http';
import type { Logger } from '../common/logger';
import { Interrupted, sleep, untilAborted } from '../common/shutdown';
import { BackPressure } from './backpressure';
import { permanentRefusal, TemporalDelivery } from './delivery';
import { IndicatorDispatcher } from './dispatcher';
import { FrameRouter } from './frame-router';
import { LiveStream } from './live-stream';
import { NO_STARTER_METRICS, type StarterMetrics } from './metrics';
import { OpenCtiApi, parseConnectorState } from './opencti-api';
import { SavedPosition } from './saved-position';
import { firstRunState, recoverParameter } from './state';

export { firstRunState } from './state';

export interface StarterOptions {
  config: StarterConfig;
  client: Client;
  log: Logger;
  /** How often the position is saved when it moved (the crash replay window). */
  saveEveryMs?: number;
  /** How often OpenCTI is pinged when nothing moved, to show the connector alive. */
  pingEveryMs?: number;
  /** Bound of one attempt to hand an event to Temporal; a hung call is then retried. */
  deliveryTimeoutMs?: number;
  /** First retry delay after 401/410 (it doubles up to a minute). */
  refusedRetryMs?: number;
  /** Aborted by a stop signal during start-up: startStarter then rejects with Interrupted. */
  signal?: AbortSignal;
  /** The starter's Prometheus series (starter/metrics.ts). */
  metrics?: StarterMetrics;
}

export interface Starter {
  /** Stops reading, waits (bounded) for in-flight deliveries, saves the position once more. */
  stop(): Promise<void>;
  /** The position last saved in OpenCTI. */
  savedPosition(): string | undefined;
  /** Why the starter is not reading the stream, or undefined when it is (or paused on purpose). */
  notReading(): string | undefined;
}

/** Retries until it succeeds or `signal` aborts (a stop signal during start-up: Interrupted). */
async function retryForever<T>(what: string, log: Logger, body: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await untilAborted(body(), signal);
    } catch (error) {
      if (error instanceof Interrupted) throw error;
      const delay = backoffDelay(attempt, { firstMs: 500, maxMs: 30_000 });
      log.error(`${what} failed; retrying`, { error: (error as Error).message, retryInMs: delay });
      await sleep(delay, signal);
    }
  }
}

export async function startStarter({
  config,
  client,
  log,
  saveEveryMs = 2_000,
  pingEveryMs = 30_000,
  deliveryTimeoutMs = 10_000,
  refusedRetryMs,
  signal,
  metrics = NO_STARTER_METRICS,
}: StarterOptions): Promise<Starter> {
  // One way out to OpenCTI (proxy, OPENCTI_SSL_VERIFY) for the GraphQL calls and the stream alike.
  const openCtiHttp = createHttpClient({ proxy: config.network.proxy, verifyTls: config.opencti.sslVerify ?? true });
  const api = new OpenCtiApi(config.opencti, config.connector, openCtiHttp.fetch);
  const remote = await retryForever('registering the connector in OpenCTI', log, () => api.register(), signal);
  const remembered = parseConnectorState(remote);
  const initial = remembered ?? firstRunState(config.connector);
  log.info('connector registered', {
    connectorId: config.connector.id,
    startFrom: initial.start_from,
    recoverUntil: recoverParameter(initial),
    firstRun: !remembered,
  });

  const delivery = new TemporalDelivery({
    client,
    taskQueue: config.temporal.taskQueue,
    openctiUrl: config.opencti.url,
    log,
    timeoutMs: deliveryTimeoutMs,
  });
  const dispatcher = new IndicatorDispatcher({
    deliver: (event, options) => delivery.deliver(event, options),
    permanentRefusal,
    quarantine: (event, reason) => {
      metrics.quarantined('temporal-refused');
      return delivery.quarantine(event, reason);
    },
    maxInFlight: config.connector.maxInFlightEvents,
    log,
  });
  const position: SavedPosition = new SavedPosition({
    connector: config.connector,
    initial,
    // The ping tells OpenCTI's connectors page whether the stream is paused and how much waits.
    store: (state) => api.ping(state, { buffering: stream.isPaused(), queueMessagesSize: dispatcher.pending() }),
    onSaved: (saved) => metrics.saved(saved),
    listRunning: () => delivery.listRunning(),
    submitToRunning: (events) => dispatcher.submit(events, { onlyIfRunning: true }),
    onReset: () => stream.restart(),
    pingEveryMs,
    log,
  });
  const backPressure = new BackPressure({
    stream: { pause: () => stream.pause(), resume: () => stream.resume(), isPaused: () => stream.isPaused() },
    watermark: () => position.watermark,
    pendingDeliveries: () => dispatcher.pending(),
    maxBuffered: config.connector.maxBufferedEvents,
    onPause: () => metrics.paused(),
    log,
  });
  const router = new FrameRouter({ position, dispatcher, delivery, backPressure, metrics, log });
  const stream: LiveStream = new LiveStream({
    url: `${config.opencti.url}/stream/${encodeURIComponent(config.connector.liveStreamId)}`,
    token: config.opencti.token,
    fetch: openCtiHttp.fetch,
    listenDelete: config.connector.listenDelete,
    noDependencies: config.connector.noDependencies,
    withInferences: config.connector.withInferences,
    position: () => position.streamPosition(),
    onFrame: (event, id, data) => router.onFrame(event, id, data),
    onOversizedFrame: (lastGoodId, frameId) => router.onOversizedFrame(lastGoodId, frameId),
    log,
    watchdogMs: config.connector.liveStreamWatchdogSeconds * 1_000,
    refusedRetryMs,
    onReconnect: (reason) => metrics.reconnecting(reason),
  });
  metrics.watch({
    acknowledged: () => position.watermark.position(),
    buffered: () => backPressure.buffered(),
    waiting: () => dispatcher.pending(),
    isPaused: () => stream.isPaused(),
  });

  // Stored before reading: a crash before the first periodic save must not restart on an empty
  // state, whose "snapshot up to now" would never deliver the deletions that happened meanwhile.
  await retryForever('saving the stream position in OpenCTI', log, () => position.save(true), signal);
  const saver = setInterval(() => position.saveInBackground(), saveEveryMs);
  const resumer = setInterval(() => backPressure.check(), 250);
  stream.start();

  return {
    savedPosition: () => position.lastSaved(),
    notReading: () => (stream.isPaused() || stream.isConnected() ? undefined : 'not connected to the OpenCTI live stream'),
    async stop() {
      clearInterval(saver);
      clearInterval(resumer);
      stream.stop();
      const deadline = Date.now() + 10_000;
      while (dispatcher.pending() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      dispatcher.stop();
      await position.stop();
      await position
        .save(true)
        .catch((error: unknown) => log.warn('could not save the final stream position', { error: (error as Error).message }));
      log.info('starter stopped', { position: position.lastSaved(), undelivered: dispatcher.pending() });
    },
  };
}
