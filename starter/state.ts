/**
 * Where the stream is read from, as pycti's stream helper decides it: the first-run position, the
 * recover snapshot it implies, and what a "reset state" in the OpenCTI UI turns into.
 */
import type { ConnectorSettings } from '../config/load';
import { compareStreamIds, parseStreamId } from '../domain/stream-id';
import type { ConnectorState } from './opencti-api';

function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** The values pycti treats as "no recover date" (it then omits `?recover=`). */
const NO_RECOVER = new Set(['', 'no', 'none', 'false']);

/** The recover date to send, or undefined when the state has none. */
export function recoverParameter(state: ConnectorState): string | undefined {
  const value = state.recover_until;
  if (value === undefined || value === false || NO_RECOVER.has(value.trim().toLowerCase())) return undefined;
  return value;
}

/**
 * A start position as the platform converts a `from`/`recover` parameter, so the connector compares it with frame
 * ids: `0` is the beginning, a date is `<ms>-0`. Undefined when the platform would not accept it.
 */
export function normalizeStart(value: string): string | undefined {
  const text = value.trim();
  if (text === '0' || text === '0-0') return '0-0';
  if (parseStreamId(text)) return text;
  if (/^\d+$/.test(text)) return `${text}-0`;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : `${ms}-0`;
}

/** pycti's first run: from the configured timestamp (else the beginning), snapshot up to the recover date (else now). */
export function firstRunState(connector: Pick<ConnectorSettings, 'startTimestamp' | 'recoverIsoDate'>, now = new Date()): ConnectorState {
  const start = connector.startTimestamp;
  return {
    start_from: start ? (start.includes('-') ? start : `${start}-0`) : '0-0',
    recover_until: connector.recoverIsoDate ?? isoSeconds(now),
  };
}

/**
 * The id at or below which frames belong to a recover snapshot: the server snapshots only when
 * the recover date is after the start, and the live tail then starts at `<recover-ms>-0`.
 * Snapshot ids are `<updated_at-ms>-0`, in no useful order, so none of them is ever claimed.
 */
export function snapshotFloor(state: ConnectorState): string | undefined {
  const recover = recoverParameter(state);
  if (recover === undefined) return undefined;
  const recoverMs = Date.parse(recover);
  const start = parseStreamId(normalizeStart(state.start_from) ?? '');
  if (Number.isNaN(recoverMs) || !start || recoverMs <= start[0]) return undefined;
  return `${recoverMs}-0`;
}

/**
 * Whether a replay from this state starts with a snapshot of every object (a first run without a
 * start timestamp, or a reset): then an object absent from the snapshot no longer exists.
 */
export function replaysEverything(state: ConnectorState): boolean {
  return snapshotFloor(state) !== undefined && normalizeStart(state.start_from) === '0-0';
}

/**
 * The state to replay from after "reset state" in the OpenCTI UI: a first run, as in pycti, except
 * that the snapshot ends no later than what was acknowledged. A snapshot holds only the objects
 * that still exist, so with pycti's "snapshot up to now" a deletion that happened after the
 * acknowledged position, but was not yet handed to Temporal, would never reach its workflow and
 * the ruleset would outlive its indicator. Ending the snapshot at the acknowledged position makes
 * the live tail replay every event after it, deletions included.
 *
 * @param acknowledged the saved position (every event at or below it is with Temporal)
 * @param current the state that position belongs to (its snapshot may still be under way)
 */
export function stateAfterReset(
  connector: Pick<ConnectorSettings, 'startTimestamp' | 'recoverIsoDate'>,
  current: ConnectorState,
  acknowledged: string,
  now = new Date(),
): ConnectorState {
  const first = firstRunState(connector, now);
  const floor = snapshotFloor(current);
  const position = normalizeStart(acknowledged);
  // Known to Temporal: everything up to the position once past the snapshot, else only what the
  // snapshot under way describes, i.e. the objects as of its recover date.
  let knownUntilMs: number | undefined;
  if (floor !== undefined && (position === undefined || compareStreamIds(position, floor) <= 0)) knownUntilMs = parseStreamId(floor)![0];
  else if (position !== undefined) knownUntilMs = parseStreamId(position)![0];
  const firstRecoverMs = Date.parse(first.recover_until || '');
  const firstStartMs = parseStreamId(normalizeStart(first.start_from) ?? '0-0')?.[0] ?? 0;
  // Nothing acknowledged past the first-run start: a plain first run loses nothing.
  if (knownUntilMs === undefined || knownUntilMs <= firstStartMs) return first;
  if (!Number.isNaN(firstRecoverMs) && firstRecoverMs <= knownUntilMs) return first;
  return { start_from: first.start_from, recover_until: new Date(knownUntilMs).toISOString() };
}
