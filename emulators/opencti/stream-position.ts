/**
 * Stream ids are Redis stream ids: `<epoch-ms>-<seq>`. This module is the only place that
 * knows how to parse, order and print them, and how OpenCTI converts the user-supplied
 * start / recover parameters (a date becomes `<ms>-0`, `0` is the beginning).
 */

export interface StreamPosition {
  readonly ms: number;
  readonly seq: number;
}

export const ZERO_POSITION: StreamPosition = { ms: 0, seq: 0 };

export function formatPosition(p: StreamPosition): string {
  return `${p.ms}-${p.seq}`;
}

export function comparePositions(a: StreamPosition, b: StreamPosition): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.seq - b.seq;
}

export function maxPosition(a: StreamPosition, b: StreamPosition): StreamPosition {
  return comparePositions(a, b) >= 0 ? a : b;
}

/** Strict parse of `<digits>-<digits>`; anything else is not a valid Redis id. */
export function parsePosition(id: string): StreamPosition | undefined {
  const m = /^(\d+)-(\d+)$/.exec(id);
  if (!m || m[1] === undefined || m[2] === undefined) return undefined;
  const ms = Number(m[1]);
  const seq = Number(m[2]);
  if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(seq)) return undefined;
  return { ms, seq };
}

export function isoDateOfMs(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * A start or recover parameter as the platform understands it. `streamId` is kept verbatim
 * (the platform passes `<a>-<b>` straight to Redis), `position` is set only when Redis would
 * accept it, `dateMs` is the date the platform derives from it.
 */
export interface StreamParameter {
  readonly raw: string;
  readonly streamId: string;
  readonly position: StreamPosition | undefined;
  readonly dateMs: number | undefined;
}

/**
 * Mirrors the platform's convertParameterToStreamId / convertParameterToDate pair:
 * `0`/`0-0` ⇒ beginning; exactly one `-` ⇒ event id used verbatim; otherwise a parseable
 * date ⇒ `<ms>-0`; anything else ⇒ undefined ("start now").
 */
export function parseStreamParameter(param: string | undefined): StreamParameter | undefined {
  if (!param) return undefined;
  if (param === '0' || param === '0-0') {
    return { raw: param, streamId: '0-0', position: ZERO_POSITION, dateMs: 0 };
  }
  if (param.includes('-') && param.split('-').length === 2) {
    const position = parsePosition(param);
    const head = Number.parseInt(param.split('-')[0] ?? '', 10);
    return { raw: param, streamId: param, position, dateMs: Number.isNaN(head) ? undefined : head };
  }
  const ms = Date.parse(param);
  if (Number.isNaN(ms)) return undefined;
  return { raw: param, streamId: `${ms}-0`, position: { ms, seq: 0 }, dateMs: ms };
}
