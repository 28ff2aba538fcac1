/**
 * Turns one live-stream frame into the domain events it means for YARA indicators.
 * Dispatches on the SSE event name (a filtered stream turns updates into create/delete frames,
 * so `data.type` is not the event), keys everything on the OpenCTI internal id.
 */
import { z } from 'zod';
import type { IndicatorEvent, IndicatorSnapshot } from '../domain/indicator';
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

const KNOWLEDGE_EVENTS = new Set(['create', 'update', 'delete', 'merge']);

const stixObject = z
  .object({
    id: z.string(),
    type: z.string(),
    name: z.string().optional(),
    pattern: z.string().optional(),
    pattern_type: z.string().optional(),
    revoked: z.boolean().optional(),
    extensions: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();

const openCtiExtension = z.object({ id: z.string().min(1), detection: z.boolean().optional() }).loose();

const envelope = z
  .object({
    data: stixObject,
    origin: z.object({ referer: z.string().optional() }).loose().optional(),
    context: z.object({ sources: z.array(z.unknown()).optional() }).loose().optional(),
  })
  .loose();

type StixObject = z.infer<typeof stixObject>;

function internalIdOf(object: StixObject): string | undefined {
  const extension = openCtiExtension.safeParse(object.extensions?.[OPENCTI_EXTENSION]);
  return extension.success ? extension.data.id : undefined;
}

function isYaraIndicator(object: StixObject): boolean {
  return object.type === 'indicator' && object.pattern_type?.toLowerCase() === 'yara';
}

function snapshotOf(object: StixObject, internalId: string): IndicatorSnapshot | { error: string } {
  if (object.name === undefined) return { error: 'indicator has no name' };
  if (object.pattern === undefined) return { error: 'indicator has no pattern' };
  const extension = openCtiExtension.safeParse(object.extensions?.[OPENCTI_EXTENSION]);
  return {
    internalId,
    stixId: object.id,
    name: object.name,
    pattern: object.pattern,
    detection: extension.success && extension.data.detection === true,
    revoked: object.revoked === true,
  };
}

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
  if (event === 'merge') {
    // Absorbed indicators no longer exist: their rulesets go, whatever their pattern type was.
    for (const source of context?.sources ?? []) {
      const absorbed = stixObject.safeParse(source);
      if (!absorbed.success || absorbed.data.type !== 'indicator') continue;
      const internalId = internalIdOf(absorbed.data);
      if (!internalId) return { kind: 'malformed', reason: 'merge source without OpenCTI internal id' };
      events.push({
        kind: 'delete',
        streamId: id,
        source: event,
        indicator: { internalId, stixId: absorbed.data.id, name: absorbed.data.name ?? '', pattern: absorbed.data.pattern ?? '', detection: false, revoked: false },
      });
    }
  }
  if (isYaraIndicator(object)) {
    const internalId = internalIdOf(object);
    if (!internalId) return { kind: 'malformed', reason: `indicator ${object.id} has no OpenCTI internal id (extensions.${OPENCTI_EXTENSION}.id)` };
    const snapshot =
      event === 'delete' ? { ...snapshotOf({ name: '', pattern: '', ...object }, internalId), detection: false } : snapshotOf(object, internalId);
    if ('error' in snapshot) {
      // A merge's absorbed indicators must still go, even if the target arrived incomplete.
      if (events.length === 0) return { kind: 'malformed', reason: `indicator ${object.id}: ${snapshot.error}` };
      return { kind: 'events', events, skipped: `merge target ${object.id}: ${snapshot.error}` };
    }
    events.push({ kind: event === 'delete' ? 'delete' : 'upsert', streamId: id, source: event, indicator: snapshot });
  }
  if (events.length === 0 && event === 'delete' && object.type === 'indicator') {
    // A stream filtered on YARA sends `delete` when an indicator stops matching, e.g. its pattern
    // type changed: a workflow may still hold a ruleset for it. Indicators that never were YARA
    // have no workflow, so none is started for them.
    const internalId = internalIdOf(object);
    if (internalId) {
      const indicator = { internalId, stixId: object.id, name: object.name ?? '', pattern: '', detection: false, revoked: false };
      return { kind: 'events', events: [{ kind: 'delete', streamId: id, source: event, indicator }], onlyIfRunning: true };
    }
  }
  if (events.length === 0) return { kind: 'ignored', reason: `${object.type} is not a YARA indicator` };
  return { kind: 'events', events };
}

const connectedInfo = z.object({ lastEventId: z.string() }).loose();

/** The stream's last id when the connection opened, from the `connected` frame (§6); undefined when absent or unusable. */
export function streamLastEventId(data: string): string | undefined {
  try {
    const parsed = connectedInfo.safeParse(JSON.parse(data));
    return parsed.success && isStreamId(parsed.data.lastEventId) ? parsed.data.lastEventId : undefined;
  } catch {
    return undefined;
  }
}
