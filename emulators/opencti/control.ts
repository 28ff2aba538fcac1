/**
 * `/_emulator/*` — an unauthenticated JSON control surface mirroring the in-process API, so
 * benchmarks, the demo and a person with curl can drive the emulator from outside.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { OpenCtiEmulator } from './api';
import { BodyTooLargeError, readBody, sendJson } from './http';
import { InvalidChangeError, UnknownObjectError } from './knowledge';

const specSchema = z.strictObject({
  internalId: z.string().min(1).optional(),
  name: z.string().min(1),
  pattern: z.string().min(1),
  patternType: z.string().min(1).optional(),
  detection: z.boolean().optional(),
  revoked: z.boolean().optional(),
  score: z.number().int().min(0).max(100).optional(),
  description: z.string().optional(),
  labels: z.array(z.string()).optional(),
});
const changeSchema = specSchema.omit({ internalId: true }).partial();
const mergeSchema = z.strictObject({ target: z.string().min(1), sources: z.array(z.string().min(1)).min(1) });
const otherSchema = z.strictObject({ type: z.enum(['malware', 'identity', 'indicator-stix']), name: z.string().min(1) });
const rawSchema = z.strictObject({ event: z.string(), data: z.string() });
const liveSchema = z.strictObject({ live: z.boolean() });
const heartbeatsSchema = z.strictObject({ on: z.boolean() });
const tokenSchema = z.strictObject({ token: z.string().min(1) });

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function jsonBody<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const text = await readBody(req);
  let value: unknown;
  try {
    value = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new HttpError(400, parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '));
  return parsed.data;
}

export async function handleControl(req: IncomingMessage, res: ServerResponse, url: URL, emulator: OpenCtiEmulator): Promise<void> {
  const path = url.pathname.replace(/^\/_emulator/, '').replace(/\/+$/, '');
  const method = req.method ?? 'GET';
  try {
    const indicatorMatch = /^\/indicators\/([^/]+)$/.exec(path);
    const indicatorId =
      indicatorMatch?.[1] !== undefined && indicatorMatch[1] !== 'bulk' ? decodeURIComponent(indicatorMatch[1]) : undefined;
    const resetMatch = /^\/connectors\/([^/]+)\/reset$/.exec(path);

    if (method === 'POST' && path === '/indicators') {
      return sendJson(res, 201, emulator.createIndicator(await jsonBody(req, specSchema)));
    }
    if (method === 'POST' && path === '/indicators/bulk') {
      const specs = await jsonBody(req, z.array(specSchema));
      return sendJson(
        res,
        201,
        specs.map((spec) => emulator.createIndicator(spec)),
      );
    }
    if (indicatorId !== undefined && method === 'GET') {
      const stix = emulator.indicator(indicatorId);
      return stix === undefined ? sendJson(res, 404, { error: `no object with internal id ${indicatorId}` }) : sendJson(res, 200, stix);
    }
    if (indicatorId !== undefined && method === 'PATCH') {
      return sendJson(res, 200, { eventId: emulator.updateIndicator(indicatorId, await jsonBody(req, changeSchema)) });
    }
    if (indicatorId !== undefined && method === 'DELETE') {
      return sendJson(res, 200, { eventId: emulator.deleteIndicator(indicatorId) });
    }
    if (method === 'POST' && path === '/merge') {
      const { target, sources } = await jsonBody(req, mergeSchema);
      return sendJson(res, 200, { eventId: emulator.mergeIndicators(target, sources) });
    }
    if (method === 'POST' && path === '/others') {
      const { type, name } = await jsonBody(req, otherSchema);
      return sendJson(res, 201, { eventId: emulator.createOther(type, name) });
    }
    if (method === 'POST' && path === '/raw') {
      const { event, data } = await jsonBody(req, rawSchema);
      return sendJson(res, 201, { eventId: emulator.appendRaw(event, data) });
    }
    if (method === 'POST' && path === '/drop') {
      const dropped = emulator.connections();
      emulator.dropConnections();
      return sendJson(res, 200, { dropped });
    }
    if (method === 'POST' && path === '/live') {
      const { live } = await jsonBody(req, liveSchema);
      emulator.setStreamLive(live);
      return sendJson(res, 200, { live });
    }
    if (method === 'POST' && path === '/heartbeats') {
      const { on } = await jsonBody(req, heartbeatsSchema);
      emulator.setHeartbeats(on);
      return sendJson(res, 200, { on });
    }
    if (method === 'POST' && path === '/token') {
      emulator.setToken((await jsonBody(req, tokenSchema)).token);
      return sendJson(res, 200, { ok: true });
    }
    if (method === 'GET' && path === '/connectors') return sendJson(res, 200, emulator.connectors());
    if (method === 'POST' && resetMatch?.[1] !== undefined) {
      const id = decodeURIComponent(resetMatch[1]);
      emulator.resetConnectorState(id);
      return sendJson(res, 200, { id, reset: true });
    }
    if (method === 'GET' && path === '/stream-requests') return sendJson(res, 200, emulator.streamRequests());
    if (method === 'GET' && path === '/status') {
      return sendJson(res, 200, {
        url: emulator.url,
        streamId: emulator.streamId,
        lastEventId: emulator.lastEventId() ?? null,
        connections: emulator.connections(),
      });
    }
    sendJson(res, 404, { error: `no control route ${method} ${url.pathname}` });
  } catch (err) {
    if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message });
    if (err instanceof UnknownObjectError) return sendJson(res, 404, { error: err.message });
    if (err instanceof InvalidChangeError) return sendJson(res, 409, { error: err.message });
    if (err instanceof BodyTooLargeError) return sendJson(res, 413, { error: err.message });
    throw err;
  }
}
