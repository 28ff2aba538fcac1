/**
 * The starter role: reads the OpenCTI live stream, hands each YARA indicator event to its
 * workflow, and saves as the connector state only the position Temporal has acknowledged.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { StarterConfig } from '../config/load';
import type { Logger } from '../common/logger';
import { indicatorWorkflowId, internalIdOfWorkflowId, type IndicatorEvent } from '../domain/indicator';
import { isStreamId } from '../domain/stream-id';
import { INDICATOR_WORKFLOW_TYPE, indicatorEventSignal } from '../workflows/definitions';
import { INDICATOR_NAME } from '../workflows/search-attributes';
import { IndicatorDispatcher, type DeliveryOptions } from './dispatcher';
import { interpretFrame, streamLastEventId } from './frames';
import { LiveStream } from './live-stream';
import { NO_STARTER_METRICS, type StarterMetrics } from './metrics';
import { workflowPresentation } from './presentation';
import { OpenCtiApi, parseConnectorState, type ConnectorState } from './opencti-api';
import { firstRunState, recoverParameter, replaysEverything, snapshotFloor, stateAfterReset } from './state';
import { SnapshotSweep, type RunningIndicator } from './sweep';
import { StreamWatermark } from './watermark';

export { firstRunState } from './state';

const KNOWLEDGE_EVENTS = new Set(['create', 'update', 'delete', 'merge']);

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

async function retryForever<T>(what: string, log: Logger, body: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await body();
    } catch (error) {
      const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
      log.error(`${what} failed; retrying`, { error: (error as Error).message, retryInMs: delay });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

export async function startStarter({ config, client, log, saveEveryMs = 2_000, pingEveryMs = 30_000, deliveryTimeoutMs = 10_000, refusedRetryMs, metrics = NO_STARTER_METRICS }: StarterOptions): Promise<Starter> {
  const api = new OpenCtiApi(config.opencti, config.connector);
  let stopped = false;
  const remote = await retryForever('registering the connector in OpenCTI', log, () => api.register());
  const remembered = parseConnectorState(remote);
  let state = remembered ?? firstRunState(config.connector);
  log.info('connector registered', { connectorId: config.connector.id, startFrom: state.start_from, recoverUntil: recoverParameter(state), firstRun: !remembered });

  let saved: string | undefined;
  let lastPingAt = 0;

  const deliver = async (event: IndicatorEvent, { onlyIfRunning }: DeliveryOptions) => {
    const workflowId = indicatorWorkflowId(event.indicator.internalId);
    await client.withDeadline(Date.now() + deliveryTimeoutMs, async () => {
      if (!onlyIfRunning) {
        await client.workflow.signalWithStart(INDICATOR_WORKFLOW_TYPE, {
          workflowId,
          taskQueue: config.temporal.taskQueue,
          args: [{ internalId: event.indicator.internalId }],
          signal: indicatorEventSignal,
          signalArgs: [event],
          ...workflowPresentation(event, config.opencti.url),
        });
        return;
      }
      try {
        await client.workflow.getHandle(workflowId).signal(indicatorEventSignal, event);
      } catch (error) {
        // No running workflow: it holds no ruleset, so there is nothing to do.
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
    });
  };
  const dispatcher = new IndicatorDispatcher({ deliver, maxInFlight: config.connector.maxInFlightEvents, log });

  async function* listRunning(): AsyncIterable<RunningIndicator> {
    const query = `WorkflowType = '${INDICATOR_WORKFLOW_TYPE}' AND TaskQueue = '${config.temporal.taskQueue.replace(/['\\]/g, '')}' AND ExecutionStatus = 'Running'`;
    for await (const execution of client.workflow.list({ query })) {
      const internalId = internalIdOfWorkflowId(execution.workflowId);
      if (internalId) yield { internalId, name: execution.typedSearchAttributes.get(INDICATOR_NAME) ?? '' };
    }
  }

  /** The position tracker of one replay, and the sweep its snapshot calls for (see sweep.ts). */
  function openReplay(from: ConnectorState): { watermark: StreamWatermark; sweep?: SnapshotSweep } {
    const floor = snapshotFloor(from);
    const opened = new StreamWatermark(from.start_from, floor);
    if (floor === undefined || !replaysEverything(from)) return { watermark: opened };
    const sweep = new SnapshotSweep({ floor, barrier: opened.barrier(floor), listRunning, submit: (events) => dispatcher.submit(events, { onlyIfRunning: true }), log });
    return { watermark: opened, sweep };
  }
  let { watermark, sweep } = openReplay(state);

  // Back-pressure: past this many buffered frames the stream is closed, and it is resumed from
  // the received position once deliveries caught up with half of it. Never during a recover
  // snapshot, which a reconnection would send again from its beginning.
  const maxBuffered = config.connector.maxBufferedEvents;
  let nextPauseAttempt = 0;
  // held() counts acknowledged entries not yet forgotten; position() forgets them first.
  const buffered = () => {
    watermark.position();
    return Math.max(dispatcher.pending(), watermark.held());
  };
  function maybePause(): void {
    if (stream.isPaused() || buffered() < maxBuffered || Date.now() < nextPauseAttempt) return;
    nextPauseAttempt = Date.now() + 1_000;
    if (!watermark.pastSnapshot()) return;
    const waiting = buffered();
    stream.pause();
    metrics.paused();
    log.warn('too many stream events waiting for Temporal; pausing the stream', { buffered: waiting, maxBuffered, resumeFrom: watermark.resumeFrom() });
  }
  function maybeResume(): void {
    if (!stream.isPaused()) return;
    watermark.position(); // forgets what was acknowledged, so held() is current
    const caughtUp = dispatcher.pending() === 0 && watermark.inFlight() === 0;
    if (!caughtUp && buffered() > maxBuffered / 2) return;
    log.info('deliveries caught up; resuming the stream', { pending: dispatcher.pending(), resumeFrom: watermark.resumeFrom() });
    stream.resume();
  }

  const onFrame = (event: string, id: string, data: string) => {
    metrics.frameReceived(event);
    if (event === 'connected') sweep?.connected(streamLastEventId(data));
    if (!id) return; // frames without an id (`connected`) carry no knowledge and no position
    if (!isStreamId(id)) {
      // Not a position the platform could resume from: neither claimed nor handled.
      log.warn('skipping a frame whose id is not a stream id', { id, event });
      return;
    }
    const current = watermark;
    const meaning = interpretFrame(event, id, data);
    sweep?.observed(id, meaning.kind === 'heartbeat');
    switch (meaning.kind) {
      case 'heartbeat':
        current.heartbeat(id);
        break;
      case 'events': {
        const ticket = current.frame(id);
        for (const indicatorEvent of meaning.events) sweep?.saw(indicatorEvent.indicator.internalId);
        log.debug('frame', { id, event, indicators: meaning.events.map((e) => e.indicator.internalId) });
        if (meaning.skipped) log.warn('part of a frame could not be used', { id, event, reason: meaning.skipped });
        const receivedAt = performance.now();
        void dispatcher.submit(meaning.events, { onlyIfRunning: meaning.onlyIfRunning }).then(() => (ticket.done(), metrics.handedToTemporal(meaning.events.length, receivedAt)), () => undefined);
        break;
      }
      case 'malformed':
        log.warn('skipping a malformed frame', { id, event, reason: meaning.reason });
        // It may have been a dependency frame: the object sharing its id may still follow.
        current.frame(id, { final: false }).done();
        break;
      case 'ignored':
        // Dependencies and other objects are most of an unfiltered stream; only names are worth a word.
        if (!KNOWLEDGE_EVENTS.has(event)) log.debug('ignoring an event this connector does not know', { id, event });
        current.frame(id, { final: !meaning.dependency }).done();
        break;
    }
    maybePause();
  };

  const stream = new LiveStream({
    url: `${config.opencti.url}/stream/${encodeURIComponent(config.connector.liveStreamId)}`,
    token: config.opencti.token,
    listenDelete: config.connector.listenDelete,
    noDependencies: config.connector.noDependencies,
    withInferences: config.connector.withInferences,
    position: () => ({ from: watermark.resumeFrom() ?? state.start_from, recover: recoverParameter(state) }),
    onFrame,
    log,
    watchdogMs: config.connector.liveStreamWatchdogSeconds * 1_000,
    refusedRetryMs,
    onReconnect: metrics.reconnecting,
  });
  metrics.watch({ acknowledged: () => watermark.position(), buffered, waiting: () => dispatcher.pending(), isPaused: () => stream.isPaused() });

  /** Saves the acknowledged position; notices a "reset state" made in the OpenCTI UI. */
  async function save(force: boolean): Promise<void> {
    const position = watermark.position() ?? state.start_from;
    const moved = position !== saved;
    if (!force && !moved && Date.now() - lastPingAt < pingEveryMs) return;
    const sent: ConnectorState = { ...state, start_from: position };
    const answer = await api.ping(sent, { buffering: stream.isPaused(), queueMessagesSize: dispatcher.pending() });
    lastPingAt = Date.now();
    saved = position;
    metrics.saved(position);
    state = sent;
    // Only an explicitly emptied state is a reset (the platform answers "" after one); an answer
    // this connector cannot read is not a reason to replay the whole stream.
    if ((answer === '' || answer === 'null') && !stopped) {
      // OpenCTI cleared the state: replay from the beginning, with a snapshot that ends where this
      // connector had got (stateAfterReset says why). Workflows drop what they already applied.
      state = stateAfterReset(config.connector, state, position);
      sweep?.abandon();
      ({ watermark, sweep } = openReplay(state));
      saved = undefined;
      log.warn('connector state was reset in OpenCTI; replaying the stream', { startFrom: state.start_from, recoverUntil: state.recover_until });
      stream.restart();
      // Stored at once: a crash now must replay from the reset, not from nothing (a first run
      // that would not know how far this connector had got).
      await save(true);
    }
  }

  let saving: Promise<void> | undefined;
  const saveInBackground = (force: boolean) => {
    if (saving) return;
    saving = save(force)
      .catch((error: unknown) => log.warn('could not save the stream position in OpenCTI', { error: (error as Error).message }))
      .finally(() => (saving = undefined));
  };
  // Stored before reading: a crash before the first periodic save must not restart on an empty
  // state, whose "snapshot up to now" would never deliver the deletions that happened meanwhile.
  await retryForever('saving the stream position in OpenCTI', log, () => save(true));
  const saver = setInterval(() => saveInBackground(false), saveEveryMs);
  const resumer = setInterval(maybeResume, 250);

  stream.start();

  return {
    savedPosition: () => saved,
    notReading: () => (stream.isPaused() || stream.isConnected() ? undefined : 'not connected to the OpenCTI live stream'),
    async stop() {
      stopped = true;
      sweep?.abandon();
      clearInterval(saver);
      clearInterval(resumer);
      stream.stop();
      const deadline = Date.now() + 10_000;
      while (dispatcher.pending() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      dispatcher.stop();
      await saving;
      await save(true).catch((error: unknown) => log.warn('could not save the final stream position', { error: (error as Error).message }));
      log.info('starter stopped', { position: saved, undelivered: dispatcher.pending() });
    },
  };
}
