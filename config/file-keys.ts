/**
 * Which config.yml keys mean something. A misspelt key (`update_mod`, `tokn`) would otherwise be
 * ignored and its default used without a word; the environment is not checked this way, as it
 * is full of other programs' variables.
 */
import { fileKeyOf, SETTINGS } from './settings';

export { fileKeyOf };

/**
 * pycti settings a Python connector's config.yml may carry that mean nothing here: accepted so
 * that the old file loads as it is.
 */
const PYCTI_KEYS_IGNORED = [
  'OPENCTI_JSON_LOGGING',
  'CONNECTOR_TYPE',
  'CONNECTOR_AUTO',
  'CONNECTOR_UPDATE_EXISTING_DATA',
  'CONNECTOR_RUN_AND_TERMINATE',
  'CONNECTOR_QUEUE_THRESHOLD',
  'CONNECTOR_ONLY_CONTEXTUAL',
  'CONNECTOR_VALIDATE_BEFORE_IMPORT',
];

/**
 * The variables this connector validates: the only ones a misspelt key is compared with, in the
 * order config/load.ts validates the sections (the first of equally close keys is suggested).
 */
const SCHEMA_KEYS = (['common', 'network', 'opencti', 'connector', 'virustotal', 'temporal'] as const).flatMap((group) =>
  SETTINGS.filter((declared) => declared.group === group && declared.validator !== undefined).map((declared) => declared.env),
);

/** Read by the Temporal SDK's environment configuration (temporal/connection.ts hands them over). */
const TEMPORAL_SDK_KEYS = SETTINGS.filter((declared) => declared.validator === undefined).map((declared) => declared.env);

export const KNOWN_FILE_KEYS: ReadonlySet<string> = new Set([...SCHEMA_KEYS, ...TEMPORAL_SDK_KEYS, ...PYCTI_KEYS_IGNORED]);

/** Keys whose names are free-form after a prefix (gRPC metadata headers). */
const FREE_FORM_PREFIXES = ['TEMPORAL_GRPC_META_'];

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The known key closest to `name`, when it is close enough to be the one meant. */
export function closestKnownKey(name: string): string | undefined {
  let best: { key: string; cost: number } | undefined;
  for (const key of SCHEMA_KEYS) {
    const cost = distance(name, key);
    if (!best || cost < best.cost) best = { key, cost };
  }
  if (!best) return undefined;
  const tolerance = Math.max(2, Math.floor(best.key.length / 4));
  return best.cost <= tolerance ? best.key : undefined;
}

/** Leaf keys of a YAML document as dotted paths, with the variable each one maps to. */
function leaves(document: unknown, prefix: string[] = []): Array<{ path: string; name: string }> {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) return [];
  const found: Array<{ path: string; name: string }> = [];
  for (const [key, value] of Object.entries(document as Record<string, unknown>)) {
    const at = [...prefix, key];
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) found.push(...leaves(value, at));
    else
      found.push({
        path: at.join('.'),
        name: at
          .join('_')
          .toUpperCase()
          .replace(/[^A-Z0-9]+/g, '_'),
      });
  }
  return found;
}

/** One problem per key of the document that maps to no setting, naming the closest one. */
export function unknownFileKeys(document: unknown): string[] {
  const problems: string[] = [];
  for (const { path, name } of leaves(document)) {
    if (KNOWN_FILE_KEYS.has(name) || FREE_FORM_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    const closest = closestKnownKey(name);
    problems.push(`${path}: is not a setting of this connector${closest ? ` (did you mean ${fileKeyOf(closest)}?)` : ''}`);
  }
  return problems;
}
