/**
 * Turns one live-stream frame into the domain events it means for YARA indicators.
 * Dispatches on the SSE event name (a filtered stream turns updates into create/delete frames,
 * so `data.type` is not the event), keys everything on the OpenCTI internal id.
 */
import { z } from 'zod';
import type { IndicatorEvent, IndicatorSnapshot } from '../domain/indicator';
import { internalIdProblem, MAX_EVENT_JSON_BYTES, MAX_RULES_BYTES, truncateUtf8, utf8Length } from '../domain/limits';
import { isStreamId } from '../domain/stream-id';

export const OPENCTI_EXTENSION = 'extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba';

export type FrameMeaning =
  | {
      kind: 'events';
      events: IndicatorEvent[];
      /** part of the frame that could not be used */
      skipped?: string;
      /** For running workflows only: the deletion of an indicator that is not (or no longer) YARA. */
      onlyIfRunning?: boolean;
    }
  | { kind: 'heartbeat' }
  /** `dependency`: a referenced object sent ahead of the event that carries the same id. */
  | { kind: 'ignored'; reason: string; dependency?: true }
  | { kind: 'malformed'; reason: string };

/** The SSE event names that carry knowledge (everything else is a heartbeat or out of band). */
export const KNOWLEDGE_EVENTS: ReadonlySet<string> = new Set(['create', 'update', 'delete', 'merge']);

// Only what every frame must have is required; each field is read on its own below, so that a
// field the connector does not need for this event (the name of a deleted indicator, a null
// detection) never costs the whole event.
const stixObject = z.object({ id: z.string(), type: z.string() }).loose();

const envelope = z
  .object({
    data: stixObject,
    origin: z.object({ referer: z.string().optional() }).loose().nullish(),
    context: z
      .object({ sources: z.array(z.unknown()).optional() })
      .loose()
      .nullish(),
  })
  .loose();

type StixObject = z.infer<typeof stixObject>;

/** Ids quoted in log lines are cut: a hostile frame must not write megabytes of log. */
const shown = (id: string) => truncateUtf8(id, 200);

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function openCtiExtension(object: StixObject): Record<string, unknown> | undefined {
  const extensions = object.extensions;
  if (extensions === null || typeof extensions !== 'object') return undefined;
  const extension = (extensions as Record<string, unknown>)[OPENCTI_EXTENSION];
  return extension !== null && typeof extension === 'object' ? (extension as Record<string, unknown>) : undefined;
}

/** The internal id, or why there is no usable one. */
function internalIdOf(object: StixObject): { id: string } | { error: string } {
  const id = text(openCtiExtension(object)?.id);
  const where = `extensions.${OPENCTI_EXTENSION}.id`;
  if (id === undefined) return { error: `${shown(object.id)} has no OpenCTI internal id (${where})` };
  const problem = internalIdProblem(id);
  return problem ? { error: `${shown(object.id)}: OpenCTI internal id (${where}) ${problem}` } : { id };
}

function isYaraIndicator(object: StixObject): boolean {
  return object.type === 'indicator' && text(object.pattern_type)?.toLowerCase() === 'yara';
}

/**
 * A snapshot for a delete: only the internal id is needed; name and pattern are kept when usable,
 * as they identify a ruleset the Python connector made for the indicator.
 */
function deletedSnapshot(object: StixObject, internalId: string): IndicatorSnapshot {
  const snapshot = {
    internalId,
    stixId: object.id,
    name: text(object.name) ?? '',
    pattern: text(object.pattern) ?? '',
    detection: false,
    revoked: false,
  };
  const bounded = withinLimits(snapshot);
  // Nothing to create from a delete: a pattern too large to carry is simply left out.
  const { patternRefused, ...carried } = bounded;
  return patternRefused ? carried : bounded;
}

function snapshotOf(object: StixObject, internalId: string): IndicatorSnapshot | { error: string } {
  const name = text(object.name);
  const pattern = text(object.pattern);
  if (name === undefined) return { error: 'indicator has no name' };
  if (pattern === undefined) return { error: 'indicator has no pattern' };
  const snapshot: IndicatorSnapshot = {
    internalId,
    stixId: object.id,
    name,
    pattern,
    detection: openCtiExtension(object)?.detection === true,
    revoked: object.revoked === true,
  };
  return withinLimits(snapshot);
}

/**
 * A pattern VirusTotal would refuse for its size is not carried (the workflow is told why and
 * shows it); a name too long to carry is cut. Temporal then never sees an event it would refuse.
 */
function withinLimits(snapshot: IndicatorSnapshot): IndicatorSnapshot {
  const bytes = utf8Length(snapshot.pattern);
  if (bytes > MAX_RULES_BYTES) {
    return {
      ...snapshot,
      pattern: '',
      patternRefused: `the pattern is ${bytes} bytes; VirusTotal accepts at most ${MAX_RULES_BYTES} bytes of rules`,
    };
  }
  const fits = (candidate: IndicatorSnapshot) => utf8Length(JSON.stringify(candidate)) <= MAX_EVENT_JSON_BYTES;
  if (fits(snapshot)) return snapshot;
  const shortName = { ...snapshot, name: truncateUtf8(snapshot.name, MAX_NAME_BYTES) };
  if (fits(shortName)) return shortName;
  return { ...shortName, pattern: '', patternRefused: 'the pattern is too large to carry once escaped as JSON' };
}

/** Names are VirusTotal ruleset names; far longer than any real one, far below Temporal's payload limit. */
const MAX_NAME_BYTES = 64 * 1024;

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || 'data'}: ${issue.message}` : 'invalid';
}

export function interpretFrame(event: string, id: string, data: string): FrameMeaning {
  if (event === 'heartbeat') return { kind: 'heartbeat' };
  if (!KNOWLEDGE_EVENTS.has(event)) return { kind: 'ignored', reason: `event "${event}" is not knowledge` };

  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { kind: 'malformed', reason: 'data is not JSON' };
  }
  const parsed = envelope.safeParse(json);
  if (!parsed.success) return { kind: 'malformed', reason: describeIssue(parsed.error) };
  const { data: object, origin, context } = parsed.data;

  // References published ahead of the object that needs them; the object follows with this id.
  if (origin?.referer === 'init-dependencies') return { kind: 'ignored', reason: 'dependency frame', dependency: true };

  const events: IndicatorEvent[] = [];
  const skipped: string[] = [];
  if (event === 'merge') {
    // Absorbed indicators no longer exist: their rulesets go, whatever their pattern type was.
    // Each source stands alone: one that cannot be read does not keep the others' rulesets alive.
    for (const source of context?.sources ?? []) {
      const absorbed = stixObject.safeParse(source);
      if (!absorbed.success) {
        skipped.push(`a merge source is not a STIX object (${describeIssue(absorbed.error)})`);
        continue;
      }
      if (absorbed.data.type !== 'indicator') continue;
      const internalId = internalIdOf(absorbed.data);
      if ('error' in internalId) {
        skipped.push(`merge source ${internalId.error}`);
        continue;
      }
      events.push({ kind: 'delete', streamId: id, source: event, indicator: deletedSnapshot(absorbed.data, internalId.id) });
    }
  }
  if (isYaraIndicator(object)) {
    const internalId = internalIdOf(object);
    if ('error' in internalId) {
      if (events.length === 0) return { kind: 'malformed', reason: `indicator ${internalId.error}` };
      skipped.push(`merge target ${internalId.error}`);
    } else {
      const snapshot = event === 'delete' ? deletedSnapshot(object, internalId.id) : snapshotOf(object, internalId.id);
      if ('error' in snapshot) {
        // A merge's absorbed indicators must still go, even if the target arrived incomplete.
        if (events.length === 0) return { kind: 'malformed', reason: `indicator ${shown(object.id)}: ${snapshot.error}` };
        skipped.push(`merge target ${shown(object.id)}: ${snapshot.error}`);
      } else {
        events.push({ kind: event === 'delete' ? 'delete' : 'upsert', streamId: id, source: event, indicator: snapshot });
      }
    }
  }
  if (events.length === 0 && event === 'delete' && object.type === 'indicator' && !isYaraIndicator(object)) {
    // A stream filtered on YARA sends `delete` when an indicator stops matching, e.g. its pattern
    // type changed: a workflow may still hold a ruleset for it. Indicators that never were YARA
    // have no workflow, so none is started for them.
    const internalId = internalIdOf(object);
    if ('id' in internalId) {
      // Its pattern is not a YARA rule: it cannot identify a ruleset, so it is not carried.
      const indicator = { ...deletedSnapshot(object, internalId.id), pattern: '' };
      return { kind: 'events', events: [{ kind: 'delete', streamId: id, source: event, indicator }], onlyIfRunning: true };
    }
  }
  if (events.length === 0 && skipped.length > 0) return { kind: 'malformed', reason: skipped.join('; ') };
  if (events.length === 0) return { kind: 'ignored', reason: `${object.type} is not a YARA indicator` };
  return skipped.length > 0 ? { kind: 'events', events, skipped: skipped.join('; ') } : { kind: 'events', events };
}

const connectedInfo = z.object({ lastEventId: z.string() }).loose();

/** The stream's last id when the connection opened, from the `connected` frame (the first frame after the 200, without an id); undefined when absent or unusable. */
export function streamLastEventId(data: string): string | undefined {
  try {
    const parsed = connectedInfo.safeParse(JSON.parse(data));
    return parsed.success && isStreamId(parsed.data.lastEventId) ? parsed.data.lastEventId : undefined;
  } catch {
    return undefined;
  }
}
