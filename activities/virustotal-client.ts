/**
 * A typed client of the VirusTotal API v3 hunting-ruleset endpoints. It knows the wire format
 * and classifies failures; what to do about a failure is decided by the activities.
 */
import { z } from 'zod';
import {
  BodyTooLargeError,
  createHttpClient,
  describeFetchError,
  discardBody,
  formatBytes,
  isRedirect,
  readBodyBounded,
  type FetchFunction,
} from '../common/http';
import type { Editor } from '../domain/ruleset';

/**
 * Largest answer read from VirusTotal. A ruleset holds at most 1 MB of rules and a page of the
 * list at most a few dozen of them; anything bigger is not VirusTotal talking, and reading it
 * whole would take the worker's memory with it.
 */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * Longest wait a Retry-After may ask for: the activity retry policy's maximumInterval (2 minutes,
 * workflows/indicator.ts). A larger value (a misbehaving proxy's 99999999) would park the
 * indicator, and every later event of it, for years.
 */
export const MAX_RETRY_AFTER_MS = 120_000;

export type VirusTotalFailureKind =
  | 'invalid' // 400: the request (usually the YARA text) is wrong; retrying cannot help
  | 'auth' // 401/403: the API key is wrong or lacks the Hunting privilege
  | 'not-found'
  | 'quota' // 429
  | 'redirect' // 3xx: never followed, the key would go along; VIRUSTOTAL_LIVEHUNT_API_URL is wrong
  | 'oversized' // an answer over MAX_ANSWER_BYTES: not VirusTotal, or not the endpoint we meant
  | 'transient'; // 5xx, 400 NotAvailableYet, network errors, timeouts

export class VirusTotalError extends Error {
  constructor(
    message: string,
    readonly kind: VirusTotalFailureKind,
    readonly status?: number,
    readonly code?: string,
    /** From Retry-After, when VirusTotal sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'VirusTotalError';
  }
}

const rulesetAttributes = z.object({
  name: z.string(),
  rules: z.string(),
  enabled: z.boolean().optional(),
  notification_emails: z.array(z.string()).optional().default([]),
  match_object_type: z.string().optional(),
  creation_date: z.number().optional(),
  modification_date: z.number().optional(),
});

const rulesetObject = z.object({
  id: z.string().min(1),
  type: z.literal('hunting_ruleset'),
  attributes: rulesetAttributes,
});

const rulesetResponse = z.object({ data: rulesetObject });
const rulesetPage = z.object({
  data: z.array(rulesetObject),
  meta: z.object({ cursor: z.string().optional() }).partial().optional(),
});
const descriptor = z.object({ type: z.string(), id: z.string() });
const descriptorPage = z.object({
  data: z.array(descriptor),
  meta: z.object({ cursor: z.string().optional() }).partial().optional(),
});
const ownerResponse = z.object({ data: descriptor.nullable() });
const userResponse = z.object({ data: z.object({ id: z.string(), type: z.literal('user') }) });
const errorEnvelope = z.object({ error: z.object({ code: z.string(), message: z.string().optional().default('') }) });

export interface RemoteRuleset {
  id: string;
  name: string;
  rules: string;
  enabled: boolean;
  notificationEmails: string[];
  /** VirusTotal's default when absent is a file ruleset. */
  matchObjectType: string;
  creationDate?: number;
}

export interface RulesetWrite {
  name: string;
  rules: string;
  enabled: boolean;
  limit: number;
  notificationEmails: string[];
  matchObjectType?: string;
}

export interface VirusTotalClientOptions {
  apiUrl: string;
  apiKey: string;
  /** Spaces requests under the configured budget (VIRUSTOTAL_LIVEHUNT_MAX_REQUESTS_PER_SECOND). */
  pacer?: { take(): Promise<void> };
  /** Per-request timeout; an expired request counts as a transient failure. */
  timeoutMs?: number;
  pageSize?: number;
  /** How requests leave the process (proxy, TLS); common/http.ts. Default: direct. */
  fetch?: FetchFunction;
  /** Default MAX_ANSWER_BYTES; tests lower it. */
  maxAnswerBytes?: number;
  /** Told of every request once answered or failed (metrics); it cannot change the outcome. */
  observe?: (observation: RequestObservation) => void;
}

/** One request as metrics see it; `path` has the API key masked; 'error' means no answer. */
export interface RequestObservation {
  method: string;
  path: string;
  status: number | 'error';
  seconds: number;
}

function toRemote(object: z.infer<typeof rulesetObject>): RemoteRuleset {
  return {
    id: object.id,
    name: object.attributes.name,
    rules: object.attributes.rules,
    enabled: object.attributes.enabled ?? true,
    notificationEmails: object.attributes.notification_emails,
    matchObjectType: object.attributes.match_object_type ?? 'file',
    creationDate: object.attributes.creation_date,
  };
}

/** Retry-After in seconds or as an HTTP date, capped at MAX_RETRY_AFTER_MS. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  let ms: number | undefined;
  if (header.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) ms = seconds * 1000;
  else {
    const date = Date.parse(header);
    ms = Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
  }
  return ms === undefined ? undefined : Math.min(ms, MAX_RETRY_AFTER_MS);
}

function classify(status: number, code: string | undefined): VirusTotalFailureKind {
  if (status === 404) return 'not-found';
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'quota';
  if (status === 400 && code === 'NotAvailableYet') return 'transient';
  if (status >= 400 && status < 500 && status !== 408 && status !== 424) return 'invalid';
  return 'transient';
}

export class VirusTotalClient {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly pageSize: number;
  private readonly fetch: FetchFunction;
  private readonly maxAnswerBytes: number;
  private userId?: Promise<string>;

  constructor(private readonly options: VirusTotalClientOptions) {
    this.base = options.apiUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.pageSize = options.pageSize ?? 40;
    this.fetch = options.fetch ?? createHttpClient().fetch;
    this.maxAnswerBytes = options.maxAnswerBytes ?? MAX_ANSWER_BYTES;
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    // The key can be part of a path (GET /users/{key}); messages end up in logs and histories.
    const shown = path.split(encodeURIComponent(this.options.apiKey)).join('***');
    await this.options.pacer?.take();
    let response: Response;
    const sentAt = performance.now();
    const observed = (status: number | 'error') =>
      this.options.observe?.({ method, path: shown, status, seconds: (performance.now() - sentAt) / 1000 });
    try {
      response = await this.fetch(`${this.base}${path}`, {
        method,
        // A redirect would carry x-apikey (and the rules) to whatever host it names.
        redirect: 'manual',
        headers: {
          'x-apikey': this.options.apiKey,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      observed('error');
      const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : describeFetchError(error);
      throw new VirusTotalError(this.redact(`${method} ${shown}: ${reason}`), 'transient');
    }
    observed(response.status);
    if (isRedirect(response)) {
      await discardBody(response);
      const location = response.headers.get('location');
      let target = 'another location';
      try {
        if (location) target = new URL(location, `${this.base}${path}`).origin;
      } catch {
        // an unparsable Location is still a redirect
      }
      throw new VirusTotalError(
        this.redact(
          `${method} ${shown}: answered ${response.status}, a redirect to ${target}; not followed, so the API key stays with the configured host: check VIRUSTOTAL_LIVEHUNT_API_URL`,
        ),
        'redirect',
        response.status,
      );
    }
    let text: string;
    try {
      text = await readBodyBounded(response, this.maxAnswerBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        throw new VirusTotalError(
          `${method} ${shown}: ${error.message} (VirusTotal answers are at most ${formatBytes(this.maxAnswerBytes)}): check VIRUSTOTAL_LIVEHUNT_API_URL`,
          'oversized',
          response.status,
        );
      }
      // The connection broke or timed out mid-body: like any network error.
      const reason = (error as Error).name === 'TimeoutError' ? `no complete answer within ${this.timeoutMs} ms` : (error as Error).message;
      if (response.ok) throw new VirusTotalError(`${method} ${shown}: ${reason}`, 'transient', response.status);
      text = '';
    }
    if (response.ok) {
      if (text.trim() === '') return undefined;
      try {
        return JSON.parse(text);
      } catch {
        throw new VirusTotalError(
          `${method} ${shown}: answered ${response.status} with a body that is not JSON`,
          'transient',
          response.status,
        );
      }
    }
    let code: string | undefined;
    let message = text.slice(0, 300);
    try {
      const envelope = errorEnvelope.safeParse(JSON.parse(text));
      if (envelope.success) {
        code = envelope.data.error.code;
        message = envelope.data.error.message;
      }
    } catch {
      // gateways answer HTML; keep the start of it
    }
    // Error bodies may echo the request (a proxy's "Cannot GET /users/<key>"): redact the key there too.
    throw new VirusTotalError(
      this.redact(`${method} ${shown}: ${response.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`),
      classify(response.status, code),
      response.status,
      code,
      retryAfterMs(response.headers.get('retry-after')),
    );
  }

  private redact(text: string): string {
    const key = this.options.apiKey;
    return text.split(key).join('***').split(encodeURIComponent(key)).join('***');
  }

  private static parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
    const result = schema.safeParse(value);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new VirusTotalError(`${what}: unexpected answer (${issue?.path.join('.') || 'body'}: ${issue?.message})`, 'transient');
    }
    return result.data;
  }

  private static writeBody(ruleset: Partial<RulesetWrite>, id?: string) {
    const attributes: Record<string, unknown> = {};
    if (ruleset.name !== undefined) attributes.name = ruleset.name;
    if (ruleset.rules !== undefined) attributes.rules = ruleset.rules;
    if (ruleset.enabled !== undefined) attributes.enabled = ruleset.enabled;
    if (ruleset.limit !== undefined) attributes.limit = ruleset.limit;
    if (ruleset.notificationEmails !== undefined) attributes.notification_emails = ruleset.notificationEmails;
    if (ruleset.matchObjectType !== undefined) attributes.match_object_type = ruleset.matchObjectType;
    return { data: { type: 'hunting_ruleset', ...(id ? { id } : {}), attributes } };
  }

  async createRuleset(ruleset: RulesetWrite): Promise<RemoteRuleset> {
    const body = await this.request('POST', '/intelligence/hunting_rulesets', VirusTotalClient.writeBody(ruleset));
    return toRemote(VirusTotalClient.parse(rulesetResponse, body, 'create ruleset').data);
  }

  /** undefined when the ruleset does not exist (or is not visible to this key). */
  async getRuleset(id: string): Promise<RemoteRuleset | undefined> {
    try {
      const body = await this.request('GET', `/intelligence/hunting_rulesets/${encodeURIComponent(id)}`);
      return toRemote(VirusTotalClient.parse(rulesetResponse, body, 'get ruleset').data);
    } catch (error) {
      if (error instanceof VirusTotalError && error.kind === 'not-found') return undefined;
      throw error;
    }
  }

  /** undefined when the ruleset no longer exists. */
  async updateRuleset(id: string, change: Partial<RulesetWrite>): Promise<RemoteRuleset | undefined> {
    try {
      const body = await this.request(
        'PATCH',
        `/intelligence/hunting_rulesets/${encodeURIComponent(id)}`,
        VirusTotalClient.writeBody(change, id),
      );
      return toRemote(VirusTotalClient.parse(rulesetResponse, body, 'update ruleset').data);
    } catch (error) {
      if (error instanceof VirusTotalError && error.kind === 'not-found') return undefined;
      throw error;
    }
  }

  /** Deleting what is already gone is success: deletes are retried and replayed. */
  async deleteRuleset(id: string): Promise<'deleted' | 'absent'> {
    try {
      await this.request('DELETE', `/intelligence/hunting_rulesets/${encodeURIComponent(id)}`);
      return 'deleted';
    } catch (error) {
      if (error instanceof VirusTotalError && error.kind === 'not-found') return 'absent';
      throw error;
    }
  }

  /** Every ruleset visible to the key that matches `filter`, across all pages. */
  async *listRulesets(filter?: string, order?: string): AsyncGenerator<RemoteRuleset> {
    let cursor: string | undefined;
    do {
      const query = new URLSearchParams({ limit: String(this.pageSize) });
      if (filter) query.set('filter', filter);
      if (order) query.set('order', order);
      if (cursor) query.set('cursor', cursor);
      const body = await this.request('GET', `/intelligence/hunting_rulesets?${query}`);
      const page = VirusTotalClient.parse(rulesetPage, body, 'list rulesets');
      for (const object of page.data) yield toRemote(object);
      cursor = page.meta?.cursor;
    } while (cursor);
  }

  async listEditors(id: string): Promise<Editor[]> {
    const editors: Editor[] = [];
    let cursor: string | undefined;
    do {
      const query = new URLSearchParams({ limit: String(this.pageSize) });
      if (cursor) query.set('cursor', cursor);
      const body = await this.request('GET', `/intelligence/hunting_rulesets/${encodeURIComponent(id)}/relationships/editors?${query}`);
      const page = VirusTotalClient.parse(descriptorPage, body, 'list editors');
      for (const item of page.data) if (item.type === 'user' || item.type === 'group') editors.push({ type: item.type, id: item.id });
      cursor = page.meta?.cursor;
    } while (cursor);
    return editors;
  }

  /** One request carrying the whole list, as the API allows. */
  async addEditors(id: string, editors: Editor[]): Promise<void> {
    if (editors.length === 0) return;
    await this.request('POST', `/intelligence/hunting_rulesets/${encodeURIComponent(id)}/relationships/editors`, {
      data: editors.map((editor) => ({ type: editor.type, id: editor.id })),
    });
  }

  /** undefined when the ruleset no longer exists. */
  async owner(id: string): Promise<string | undefined> {
    try {
      const body = await this.request('GET', `/intelligence/hunting_rulesets/${encodeURIComponent(id)}/relationships/owner`);
      return VirusTotalClient.parse(ownerResponse, body, 'ruleset owner').data?.id;
    } catch (error) {
      if (error instanceof VirusTotalError && error.kind === 'not-found') return undefined;
      throw error;
    }
  }

  /** The account behind the API key (`GET /users/{id}` accepts the key as id). Cached. */
  currentUser(): Promise<string> {
    this.userId ??= this.request('GET', `/users/${encodeURIComponent(this.options.apiKey)}`)
      .then((body) => VirusTotalClient.parse(userResponse, body, 'current user').data.id)
      .catch((error: unknown) => {
        this.userId = undefined;
        throw error;
      });
    return this.userId;
  }
}
