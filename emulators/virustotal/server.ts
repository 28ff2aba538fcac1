// The HTTP pipeline. For /api/v3 every request goes: injected fault → authentication → rate
// limit → handler → (afterCommit fault) → latency → request log → answer. /_emulator/ is the
// control surface (no key, no latency, not logged); anything else is a plain 404.

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { type ApiContext, handleApi } from './api';
import { ApiError, errorBody } from './errors';
import { type Answer, faultAnswer, type FaultInjector, type RateLimiter } from './faults';
import type { RecordedRequest } from './types';
import type { UserDirectory } from './users';

export const API_PREFIX = '/api/v3';
export const CONTROL_PREFIX = '/_emulator';

// Far above the 1 MiB ruleset limit, so oversize rulesets reach validation and get VT's 400,
// while a runaway client cannot exhaust memory.
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface ServerState extends ApiContext {
  users: UserDirectory;
  faults: FaultInjector;
  limiter: RateLimiter;
  log: RecordedRequest[];
  latencyMs: number;
}

/** Handles /_emulator/<path>; `body` is the parsed JSON body (undefined when empty). */
export type ControlHandler = (method: string, path: string, body: unknown) => Answer;

export function errorAnswer(status: number, code: string, message: string): Answer {
  return { status, contentType: 'application/json; charset=utf-8', body: errorBody(code, message) };
}

function toAnswer(err: unknown): Answer {
  if (err instanceof ApiError) return errorAnswer(err.status, err.code, err.message);
  const message = err instanceof Error ? err.message : String(err);
  return errorAnswer(500, 'InternalError', `Emulator failure: ${message}`);
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

type ParsedBody = { ok: true; value: unknown } | { ok: false; raw: string };

function parseBody(raw: string): ParsedBody {
  if (raw.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch {
    return { ok: false, raw };
  }
}

function writeAnswer(res: ServerResponse, answer: Answer): void {
  if (res.destroyed) return;
  res.statusCode = answer.status;
  for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
  if (answer.body === undefined) {
    res.setHeader('content-length', '0');
    res.end();
    return;
  }
  res.setHeader('content-type', answer.contentType ?? 'application/json; charset=utf-8');
  res.setHeader('content-length', String(Buffer.byteLength(answer.body)));
  res.end(answer.body);
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function createRequestListener(
  state: ServerState,
  control: ControlHandler,
  timers: Set<NodeJS.Timeout>,
  fallbackHost: () => string,
): RequestListener {
  // Latency is a timer, never a busy wait, so concurrent requests overlap like on a real server.
  const delay = (ms: number): Promise<void> =>
    ms <= 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          const t = setTimeout(() => {
            timers.delete(t);
            resolve();
          }, ms);
          timers.add(t);
        });

  async function handleApiRequest(req: IncomingMessage, url: URL, raw: string): Promise<Answer> {
    const at = Date.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname.slice(API_PREFIX.length) || '/';
    const apiKey = headerValue(req, 'x-apikey');
    const parsed = parseBody(raw);

    const fault = state.faults.take(method, path);
    let answer: Answer;
    if (fault && !fault.afterCommit) {
      answer = faultAnswer(fault);
    } else {
      answer = applyRequest();
      if (fault) answer = faultAnswer(fault);
    }

    await delay(state.latencyMs);
    state.log.push({
      at,
      method,
      // GET /users/{key} names the key in the path; the log never holds a key.
      path: apiKey ? path.split(encodeURIComponent(apiKey)).join('***').split(apiKey).join('***') : path,
      query: Object.fromEntries(url.searchParams),
      body: parsed.ok ? parsed.value : parsed.raw,
      status: answer.status,
      apiKeyUser: state.users.userOf(apiKey),
    });
    return answer;

    function applyRequest(): Answer {
      try {
        const caller = state.users.authenticate(apiKey);
        if (!state.limiter.admit(apiKey as string, Date.now())) {
          return errorAnswer(429, 'QuotaExceededError', 'Quota exceeded: too many requests per second for this API key');
        }
        if (!parsed.ok) throw new ApiError(400, 'BadRequestError', 'Malformed JSON in request body');
        const base = `http://${headerValue(req, 'host') ?? fallbackHost()}${API_PREFIX}`;
        return handleApi(state, { method, path, query: url.searchParams, body: parsed.value, caller, base });
      } catch (err) {
        return toAnswer(err);
      }
    }
  }

  function handleControlRequest(req: IncomingMessage, url: URL, raw: string): Answer {
    const parsed = parseBody(raw);
    if (!parsed.ok) return errorAnswer(400, 'BadRequestError', 'Malformed JSON in request body');
    try {
      return control((req.method ?? 'GET').toUpperCase(), url.pathname.slice(CONTROL_PREFIX.length), parsed.value);
    } catch (err) {
      if (err instanceof ApiError) return toAnswer(err);
      // Control input errors (bad fault rule, bad rate) are the caller's fault, not ours.
      return errorAnswer(400, 'BadRequestError', err instanceof Error ? err.message : String(err));
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    let raw: string;
    try {
      raw = await readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLarge) writeAnswer(res, errorAnswer(413, 'BadRequestError', 'Request body too large'));
      return;
    }
    if (url.pathname === API_PREFIX || url.pathname.startsWith(`${API_PREFIX}/`)) {
      writeAnswer(res, await handleApiRequest(req, url, raw));
    } else if (url.pathname.startsWith(`${CONTROL_PREFIX}/`)) {
      writeAnswer(res, handleControlRequest(req, url, raw));
    } else {
      writeAnswer(res, errorAnswer(404, 'NotFoundError', `Resource "${url.pathname}" not found`));
    }
  }

  return (req, res) => {
    route(req, res).catch((err: unknown) => {
      if (!res.headersSent) writeAnswer(res, toAnswer(err));
    });
  };
}
