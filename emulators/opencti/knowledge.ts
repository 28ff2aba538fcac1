/**
 * The emulated platform's knowledge: current objects (what the database would return to a
 * recover query) and the events each change appends to the stream log. Every change
 * appends exactly one event, timestamped with the event id's millisecond so `updated_at`,
 * `modified` and snapshot ids (`<updated_at-ms>-0`) agree with the live ids.
 */
import { EventLog } from './event-log';
import { deliveryFor, CollectionDefinition } from './collection';
import {
  createMessage,
  deleteMessage,
  Envelope,
  liveOrigin,
  mergeMessage,
  StoredEventType,
  StreamRecord,
  syntheticCreatePayload,
  updateMessage,
} from './envelope';
import { uuidV4 } from './ids';
import {
  buildMalware,
  buildOrganization,
  buildTlpGreenMarking,
  buildYaraIndicator,
  IndicatorSpec,
  octiExtension,
  StixObject,
} from './indicators';
import { deepEqual, diff, PatchOperation } from './json-patch';
import { isoDateOfMs } from './stream-position';

export type OtherObjectType = 'malware' | 'identity' | 'indicator-stix';
export type IndicatorChange = Partial<Omit<IndicatorSpec, 'internalId'>>;

interface StoredIndicator {
  kind: 'indicator';
  spec: IndicatorSpec & { internalId: string };
  createdAt: string;
  stix: StixObject;
}

interface StoredOther {
  kind: 'other';
  stix: StixObject;
}

type StoredObject = StoredIndicator | StoredOther;

export class UnknownObjectError extends Error {}
export class InvalidChangeError extends Error {}

function updatedAtMs(stix: StixObject): number {
  const value = octiExtension(stix)?.['updated_at'];
  return typeof value === 'string' ? Date.parse(value) : Number.NaN;
}

export class KnowledgeBase {
  private readonly objects = new Map<string, StoredObject>();
  /** Referenced objects sent as `init-dependencies` frames, keyed by STIX id. */
  private readonly dependencies = new Map<string, string>();

  constructor(
    private readonly log: EventLog<StreamRecord>,
    private readonly collection: CollectionDefinition,
  ) {
    const marking = buildTlpGreenMarking();
    this.dependencies.set(marking.id, syntheticCreatePayload(marking, 'init-dependencies'));
  }

  createIndicator(spec: IndicatorSpec): { internalId: string; eventId: string } {
    const internalId = spec.internalId ?? uuidV4();
    if (this.objects.has(internalId)) throw new InvalidChangeError(`object ${internalId} already exists`);
    // Cloned so a caller mutating its spec (e.g. a labels array) cannot rewrite history.
    const full: IndicatorSpec & { internalId: string } = { ...structuredClone(spec), internalId };
    let stored!: StoredIndicator;
    const entry = this.log.append((_id, position) => {
      const at = isoDateOfMs(position.ms);
      const stix = buildYaraIndicator(full, { createdAt: at, updatedAt: at });
      stored = { kind: 'indicator', spec: full, createdAt: at, stix };
      return this.record('create', stix, createMessage(stix));
    });
    this.objects.set(internalId, stored);
    return { internalId, eventId: entry.id };
  }

  /**
   * Like the platform, refuses to emit an event when nothing but timestamps would change.
   * Keys whose value is `undefined` are ignored; clear a description with `''` and labels
   * with `[]` (empty values are omitted from STIX, so the patch then carries a `remove`).
   */
  updateIndicator(internalId: string, change: IndicatorChange): string {
    const current = this.indicatorOrThrow(internalId);
    const nextSpec: IndicatorSpec & { internalId: string } = { ...current.spec };
    for (const [key, value] of Object.entries(change)) {
      if (value !== undefined && key !== 'internalId') (nextSpec as unknown as Record<string, unknown>)[key] = structuredClone(value);
    }
    const unchanged = buildYaraIndicator(nextSpec, { createdAt: current.createdAt, updatedAt: this.updatedAtOf(current.stix) });
    if (deepEqual(unchanged, current.stix)) {
      throw new InvalidChangeError(`update of ${internalId} changes nothing; OpenCTI emits no event for it`);
    }
    let next!: StixObject;
    const entry = this.log.append((_id, position) => {
      next = buildYaraIndicator(nextSpec, { createdAt: current.createdAt, updatedAt: isoDateOfMs(position.ms) });
      const patch = diff(current.stix, next);
      const reversePatch = diff(next, current.stix);
      return this.record('update', next, updateMessage(patch), { patch, reverse_patch: reversePatch });
    });
    this.objects.set(internalId, { ...current, spec: nextSpec, stix: next });
    return entry.id;
  }

  deleteIndicator(internalId: string): string {
    const current = this.objects.get(internalId);
    if (!current) throw new UnknownObjectError(`no object with internal id ${internalId}`);
    // The delete envelope carries the object as it was just before deletion.
    const entry = this.log.append(() => this.record('delete', current.stix, deleteMessage(current.stix)));
    this.objects.delete(internalId);
    return entry.id;
  }

  /** The target absorbs the sources (labels are unioned) and the sources cease to exist. */
  mergeIndicators(targetInternalId: string, sourceInternalIds: string[]): string {
    const target = this.indicatorOrThrow(targetInternalId);
    if (sourceInternalIds.length === 0) throw new InvalidChangeError('merge needs at least one source');
    if (new Set(sourceInternalIds).size !== sourceInternalIds.length || sourceInternalIds.includes(targetInternalId)) {
      throw new InvalidChangeError('merge sources must be distinct and differ from the target');
    }
    const sources = sourceInternalIds.map((id) => this.indicatorOrThrow(id));
    const labels = [...new Set([...(target.spec.labels ?? []), ...sources.flatMap((s) => s.spec.labels ?? [])])];
    const mergedSpec: IndicatorSpec & { internalId: string } = { ...target.spec, labels };
    let merged!: StixObject;
    const entry = this.log.append((_id, position) => {
      merged = buildYaraIndicator(mergedSpec, { createdAt: target.createdAt, updatedAt: isoDateOfMs(position.ms) });
      const sourceObjects = sources.map((s) => s.stix);
      return this.record('merge', merged, mergeMessage(merged, sourceObjects), {
        patch: diff(target.stix, merged),
        reverse_patch: diff(merged, target.stix),
        sources: sourceObjects,
      });
    });
    this.objects.set(targetInternalId, { ...target, spec: mergedSpec, stix: merged });
    for (const id of sourceInternalIds) this.objects.delete(id);
    return entry.id;
  }

  createOther(type: OtherObjectType, name: string): string {
    if (type === 'indicator-stix') {
      return this.createIndicator({ name, pattern: `[file:name = '${name.replace(/'/g, "\\'")}']`, patternType: 'stix' }).eventId;
    }
    const internalId = uuidV4();
    let stix!: StixObject;
    const entry = this.log.append((_id, position) => {
      const at = isoDateOfMs(position.ms);
      stix =
        type === 'malware' ? buildMalware(internalId, name, { createdAt: at }) : buildOrganization(internalId, name, { createdAt: at });
      return this.record('create', stix, createMessage(stix));
    });
    this.objects.set(internalId, { kind: 'other', stix });
    return entry.id;
  }

  appendRaw(event: string, data: string): string {
    if (/[\r\n]/.test(event)) throw new InvalidChangeError('an SSE event name cannot contain a line break');
    return this.log.append(() => ({ kind: 'raw', event, data })).id;
  }

  get(internalId: string): StixObject | undefined {
    const stored = this.objects.get(internalId);
    return stored ? structuredClone(stored.stix) : undefined;
  }

  /**
   * What the platform's recover query returns: current objects matching the collection whose
   * `updated_at` lies in [fromMs, toMs], oldest update first.
   */
  snapshot(fromMs: number, toMs: number): StixObject[] {
    return [...this.objects.values()]
      .map((o) => o.stix)
      .filter((stix) => {
        const at = updatedAtMs(stix);
        return at >= fromMs && at <= toMs && this.collection.matches(stix);
      })
      .sort((a, b) => updatedAtMs(a) - updatedAtMs(b));
  }

  dependencyPayload(stixId: string): string | undefined {
    return this.dependencies.get(stixId);
  }

  private indicatorOrThrow(internalId: string): StoredIndicator {
    const stored = this.objects.get(internalId);
    if (!stored || stored.kind !== 'indicator') throw new UnknownObjectError(`no indicator with internal id ${internalId}`);
    return stored;
  }

  private updatedAtOf(stix: StixObject): string {
    return isoDateOfMs(updatedAtMs(stix));
  }

  private record(storedType: StoredEventType, stix: StixObject, message: string, context?: Envelope['context']): StreamRecord {
    const envelope: Envelope = { version: '4', type: storedType, scope: 'external', message, origin: liveOrigin(), data: stix };
    if (context) envelope.context = context;
    const octi = octiExtension(stix);
    const markingRefs = stix['object_marking_refs'];
    const reversePatch: PatchOperation[] | undefined = context?.reverse_patch;
    return {
      kind: 'knowledge',
      storedType,
      delivery: deliveryFor(this.collection, storedType, stix, reversePatch),
      payload: JSON.stringify(envelope),
      markingRefs: Array.isArray(markingRefs) ? markingRefs.filter((r): r is string => typeof r === 'string') : [],
      inferred: octi?.['is_inferred'] === true,
    };
  }
}
