/**
 * The one StreamCollection the emulator hosts, and the live stream's visibility rules. Without `filterDetection` the collection has no filter (every object is
 * sent, so a connector must filter YARA indicators itself); with it the filter is
 * "Indicator AND pattern_type = yara AND detection = true", which turns detection flips
 * into create/delete frames carrying the original update envelope.
 */
import { applyPatch, PatchOperation } from './json-patch';
import { octiExtension, StixObject } from './indicators';
import type { StoredEventType } from './envelope';

export interface CollectionDefinition {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  /** FilterGroup JSON as `streamCollection.filters` returns it. */
  readonly filters: string;
  matches(stix: StixObject): boolean;
}

export interface StreamCollection extends CollectionDefinition {
  /** `stream_live`; a stopped collection answers 410 and ends open streams. */
  live: boolean;
}

const EMPTY_FILTERS = { mode: 'and', filters: [], filterGroups: [] };

const DETECTION_FILTERS = {
  mode: 'and',
  filters: [
    { key: ['entity_type'], values: ['Indicator'], operator: 'eq', mode: 'or' },
    { key: ['pattern_type'], values: ['yara'], operator: 'eq', mode: 'or' },
    { key: ['x_opencti_detection'], values: ['true'], operator: 'eq', mode: 'or' },
  ],
  filterGroups: [],
};

function isDetectionYaraIndicator(stix: StixObject): boolean {
  return stix.type === 'indicator' && stix['pattern_type'] === 'yara' && octiExtension(stix)?.['detection'] === true;
}

export function createCollection(id: string, filterDetection: boolean): StreamCollection {
  return {
    id,
    name: filterDetection ? 'YARA detection indicators' : 'All knowledge',
    description: filterDetection
      ? 'Emulated live stream: Indicator AND pattern_type = yara AND detection = true'
      : 'Emulated live stream without filters',
    filters: JSON.stringify(filterDetection ? DETECTION_FILTERS : EMPTY_FILTERS),
    matches: filterDetection ? isDetectionYaraIndicator : () => true,
    live: true,
  };
}

/**
 * SSE event name a stored event gets on this collection (before the per-connection
 * `listen-delete` switch), or null when it is not sent. Updates are judged on both the new
 * object and the previous one rebuilt from `reverse_patch`, exactly as the platform does.
 */
export function deliveryFor(
  collection: CollectionDefinition,
  storedType: StoredEventType,
  stix: StixObject,
  reversePatch: readonly PatchOperation[] | undefined,
): StoredEventType | null {
  const now = collection.matches(stix);
  if (storedType !== 'update') return now ? storedType : null;
  const previous = applyPatch(stix, reversePatch ?? []);
  const before = collection.matches(previous);
  if (before && !now) return 'delete';
  if (!before && now) return 'create';
  return now ? 'update' : null;
}
