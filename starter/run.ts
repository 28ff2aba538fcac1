/**
 * The starter role: reads the OpenCTI live stream, hands each YARA indicator event to its
 * workflow, and saves as the connector state only the position Temporal has acknowledged.
 */
import type { Client } from '@temporalio/client';
import type { StarterConfig } from '../config/load';
import type { Logger } from '../common/logger';
import { indicatorWorkflowId, type IndicatorEvent } from '../domain/indicator';
import { parseStreamId } from '../domain/stream-id';
import { INDICATOR_WORKFLOW_TYPE, indicatorEventSignal } from '../workflows/definitions';
import { IndicatorDispatcher } from './dispatcher';
import { interpretFrame } from './frames';
import { LiveStream } from './live-stream';
import { OpenCtiApi, parseConnectorState, type ConnectorState } from './opencti-api';
import { StreamWatermark } from './watermark';

export interface StarterOptions {
  config: StarterConfig;
  client: Client;
  log: Logger;
  /** How often the position is saved when it moved (the crash replay window). */
  saveEveryMs?: number;
  /** How often OpenCTI is pinged when nothing moved, to show the connector alive. */
  pingEveryMs?: number;
  watchdogMs?: number;
  refusedRetryMs?: number;
}

export interface Starter {
  /** Stops reading, waits (bounded) for in-flight deliveries, saves the position once more. */
  stop(): Promise<void>;
  /** The position last saved in OpenCTI. */
  savedPosition(): string | undefined;
}

function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** pycti's first run: from the configured timestamp (else the beginning), snapshot up to the recover date (else now). */
export function firstRunState(connector: StarterConfig['connector'], now = new Date()): ConnectorState {
  const start = connector.startTimestamp;
  return {
    start_from: start ? (start.includes('-') ? start : `${start}-0`) : '0-0',
    recover_until: connector.recoverIsoDate ?? isoSeconds(now),
  };
}

/** Snapshot frames carry ids at or below the recover date; only ids above it are ever claimed. */
function snapshotFloor(state: ConnectorState): string | undefined {
  if (!state.recover_until) return undefined;
  const recoverMs = Date.parse(state.recover_until);
  const start = parseStreamId(state.start_from);
  if (Number.isNaN(recoverMs) || !start || recoverMs <= start[0]) return undefined;
  return `${recoverMs}-0`;
}

async function retryForever<T>(what: string, log: Logger, body: () => Promise<T>, isStopped: () => boolean): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await body();
    } catch (error) {
      if (isStopped()) throw error;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
      log.error(`${what} failed; retrying`, { error: (error as Error).message, retryInMs: delay });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

export async function startStarter({ config, client, log, saveEveryMs = 2_000, pingEveryMs = 30_000, watchdogMs, refusedRetryMs }: StarterOptions): Promise<Starter> {
  const api = new OpenCtiApi(config.opencti, config.connector);
  let stopped = false;
  const remote = await retryForever('registering the connector in OpenCTI', log, () => api.register(), () => stopped);
  let state = parseConnectorState(remote) ?? firstRunState(config.connector);
  log.info('connector registered', { connectorId: config.connector.id, startFrom: state.start_from, recoverUntil: state.recover_until || undefined, firstRun: !parseConnectorState(remote) });

  let watermark = new StreamWatermark(state.start_from, snapshotFloor(state));
  let saved: string | undefined;
  let lastPingAt = 0;

  const deliver = async (event: IndicatorEvent) => {
    await client.workflow.signalWithStart(INDICATOR_WORKFLOW_TYPE, {
      workflowId: indicatorWorkflowId(event.indicator.internalId),
      taskQueue: config.temporal.taskQueue,
      args: [{ internalId: event.indicator.internalId }],
      signal: indicatorEventSignal,
      signalArgs: [event],
    });
  };
  const dispatcher = new IndicatorDispatcher({ deliver, maxInFlight: config.connector.maxInFlightEvents, log });

  const onFrame = (event: string, id: string, data: string) => {
    if (!id) return; // frames without an id (`connected`) carry no knowledge
    const current = watermark;
    const meaning = interpretFrame(event, id, data);
    switch (meaning.kind) {
      case 'heartbeat':
        current.heartbeat(id);
        return;
      case 'events': {
        const ticket = current.frame(id);
        log.debug('frame', { id, event, indicators: meaning.events.map((e) => e.indicator.internalId) });
        void dispatcher.submit(meaning.events).then(ticket.done, () => undefined);
        return;
      }
      case 'malformed':
        log.warn('skipping a malformed frame', { id, event, reason: meaning.reason });
        current.frame(id).done();
        return;
      case 'ignored':
        current.frame(id).done();
        return;
    }
  };

  const stream = new LiveStream({
    url: `${config.opencti.url}/stream/${encodeURIComponent(config.connector.liveStreamId)}`,
    token: config.opencti.token,
    listenDelete: config.connector.listenDelete,
    noDependencies: config.connector.noDependencies,
    withInferences: config.connector.withInferences,
    position: () => ({ from: watermark.resumeFrom() ?? state.start_from, recover: state.recover_until || undefined }),
    onFrame,
    log,
    watchdogMs,
    refusedRetryMs,
  });

  /** Saves the acknowledged position; notices a "reset state" made in the OpenCTI UI. */
  async function save(force: boolean): Promise<void> {
    const position = watermark.position() ?? state.start_from;
    const moved = position !== saved;
    if (!force && !moved && Date.now() - lastPingAt < pingEveryMs) return;
    const sent: ConnectorState = { ...state, start_from: position };
    const answer = await api.ping(sent);
    lastPingAt = Date.now();
    saved = position;
    state = sent;
    if (!parseConnectorState(answer) && !stopped) {
      // OpenCTI cleared the state: replay as a first run. Workflows drop what they already applied.
      state = firstRunState(config.connector);
      watermark = new StreamWatermark(state.start_from, snapshotFloor(state));
      saved = undefined;
      log.warn('connector state was reset in OpenCTI; replaying the stream', { startFrom: state.start_from, recoverUntil: state.recover_until });
      stream.restart();
    }
  }

  let saving = Promise.resolve();
  const saver = setInterval(() => {
    saving = saving.then(() => save(false)).catch((error: unknown) => log.warn('could not save the stream position in OpenCTI', { error: (error as Error).message }));
  }, saveEveryMs);

  stream.start();

  return {
    savedPosition: () => saved,
    async stop() {
      stopped = true;
      clearInterval(saver);
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
