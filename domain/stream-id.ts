/**
 * OpenCTI stream ids are Redis stream ids, `<epoch-ms>-<seq>`. They order the events of the
 * stream; comparing them as strings would put `9-0` after `10-0`.
 * Pure and dependency-free: imported by workflow code.
 */

export function parseStreamId(id: string): [number, number] | undefined {
  const match = /^(\d+)-(\d+)$/.exec(id);
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2])];
}

export function isStreamId(id: string): boolean {
  return parseStreamId(id) !== undefined;
}

/** Negative when a < b, 0 when equal, positive when a > b. Malformed ids sort first. */
export function compareStreamIds(a: string, b: string): number {
  const pa = parseStreamId(a) ?? [-1, -1];
  const pb = parseStreamId(b) ?? [-1, -1];
  return pa[0] !== pb[0] ? pa[0] - pb[0] : pa[1] - pb[1];
}
