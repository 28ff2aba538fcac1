/**
 * Identifier helpers. OpenCTI standard ids are UUIDv5 over the canonical JSON of an
 * object's identifying properties (for an Indicator: its pattern), which is why editing a
 * pattern changes the STIX id while the internal id (UUIDv4) stays put.
 */
import { createHash, randomUUID } from 'node:crypto';

/** Namespace the platform uses for standard ids of domain objects. */
const OPENCTI_NAMESPACE = 'b639ff3b-00eb-42ed-aa36-a8dd6f8fb4cf';

export function uuidV4(): string {
  return randomUUID();
}

export function uuidV5(name: string, namespace: string = OPENCTI_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Standard id `<type>--uuidv5(canonical JSON of the identifying properties)`. */
export function standardId(stixType: string, identity: Record<string, unknown>): string {
  const canonical = JSON.stringify(Object.fromEntries(Object.entries(identity).sort(([a], [b]) => a.localeCompare(b))));
  return `${stixType}--${uuidV5(canonical)}`;
}
