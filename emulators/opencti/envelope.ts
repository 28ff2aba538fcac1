/**
 * Event envelopes (version, type, scope, origin, message, data, context) and the record the event log stores for each entry. The
 * envelope is serialised once at append time: every connection sends the same bytes, so a
 * bulk of thousands of events costs one JSON.stringify each, not one per client.
 */
import type { PatchOperation } from './json-patch';
import { EMULATED_USER_ID, octiExtension, StixObject } from './indicators';

export type StoredEventType = 'create' | 'update' | 'delete' | 'merge';

export interface Envelope {
  version: '4';
  type: StoredEventType;
  scope: 'external';
  message: string;
  origin: Record<string, unknown>;
  data: StixObject;
  context?: { patch: PatchOperation[]; reverse_patch: PatchOperation[]; sources?: StixObject[] };
}

/**
 * `delivery` is the SSE event name this entry gets on the emulated collection after the
 * visibility translation (an update that leaves the filter is sent as a delete), or null when the collection does not send it. It is computed
 * once per entry because the collection filter is fixed for the emulator's lifetime.
 */
export interface KnowledgeRecord {
  kind: 'knowledge';
  storedType: StoredEventType;
  delivery: StoredEventType | null;
  payload: string;
  markingRefs: readonly string[];
  inferred: boolean;
}

/** A frame injected verbatim by fault tests: any event name, any (even malformed) data. */
export interface RawRecord {
  kind: 'raw';
  event: string;
  data: string;
}

export type StreamRecord = KnowledgeRecord | RawRecord;

/** Origin of events caused by the emulated user through the API. */
export function liveOrigin(): Record<string, unknown> {
  return { socket: 'query', ip: '127.0.0.1', user_id: EMULATED_USER_ID, referer: 'http://localhost:4000/dashboard' };
}

export function displayType(stix: StixObject): string {
  const octiType = octiExtension(stix)?.['type'];
  return typeof octiType === 'string' ? octiType : stix.type;
}

export function displayName(stix: StixObject): string {
  const name = stix['name'];
  return typeof name === 'string' ? name : stix.id;
}

export function createMessage(stix: StixObject): string {
  return `creates a ${displayType(stix)} \`${displayName(stix)}\``;
}

export function deleteMessage(stix: StixObject): string {
  return `deletes a ${displayType(stix)} \`${displayName(stix)}\``;
}

export function mergeMessage(target: StixObject, sources: StixObject[]): string {
  return `merges ${displayType(target)} ${sources.map((s) => `\`${displayName(s)}\``).join(', ')} in \`${displayName(target)}\``;
}

const FIELD_LABELS: Record<string, string> = {
  name: 'Name',
  pattern: 'Pattern',
  pattern_type: 'Pattern type',
  description: 'Description',
  revoked: 'Revoked',
  labels: 'Label',
  detection: 'Detection',
  score: 'Score',
};

function shortValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 30 ? `${text.slice(0, 27)}...` : text;
}

/** Markdown-ish summary like the platform's ("replaces `true` in `Detection`"). Not a contract. */
export function updateMessage(patch: PatchOperation[]): string {
  const parts: string[] = [];
  for (const op of patch) {
    const field = op.path.split('/').pop() ?? '';
    const label = FIELD_LABELS[field];
    if (!label) continue;
    const verb = op.op === 'add' ? 'adds' : op.op === 'remove' ? 'removes' : 'replaces';
    parts.push(op.op === 'remove' ? `${verb} \`${label}\`` : `${verb} \`${shortValue(op.value)}\` in \`${label}\``);
  }
  return parts.length > 0 ? parts.join(' - ') : 'updates the object';
}

/**
 * Envelope of a snapshot (`init-create`) or dependency (`init-dependencies`) frame. The
 * platform builds these as `{ data, message, origin, version }` only: unlike stored events
 * they carry no `type` and no `scope`, which is one more reason to dispatch on `event:`.
 */
export function syntheticCreatePayload(stix: StixObject, referer: 'init-create' | 'init-dependencies'): string {
  return JSON.stringify({ data: stix, message: createMessage(stix), origin: { referer }, version: '4' });
}
