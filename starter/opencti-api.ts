/**
 * The GraphQL calls a stream connector makes: register once, then ping, which both shows the
 * connector alive in OpenCTI and stores its stream position (the connector state).
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
import type { ConnectorSettings, OpenCtiSettings } from '../config/load';

/** What to do about an OpenCTI certificate this process does not trust. */
export const OPENCTI_TLS_HINT = 'add its CA with NODE_EXTRA_CA_CERTS, or set OPENCTI_SSL_VERIFY=false to accept it unchecked';

/** Largest GraphQL answer read: the connector's own mutations answer a few hundred bytes. */
export const MAX_GRAPHQL_ANSWER_BYTES = 16 * 1024 * 1024;

/** The state shape pycti stores, so a Python deployment with the same CONNECTOR_ID keeps its place. */
export interface ConnectorState {
  start_from: string;
  recover_until?: string | false;
}

const stateShape = z
  .object({
    start_from: z.string().optional(),
    recover_until: z
      .union([z.string(), z.literal(false)])
      .nullable()
      .optional(),
    // Older pycti versions
    connectorLastEventId: z.string().optional(),
    connectorStartTime: z.string().optional(),
  })
  .loose();

/** Parses a stored state; undefined for none (first run, or a reset in the OpenCTI UI). */
export function parseConnectorState(raw: string | null | undefined): ConnectorState | undefined {
  if (raw === null || raw === undefined || raw.trim() === '' || raw.trim() === 'null') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const parsed = stateShape.safeParse(json);
  if (!parsed.success) return undefined;
  const start = parsed.data.start_from ?? parsed.data.connectorLastEventId;
  if (!start) return undefined;
  return { start_from: start, recover_until: parsed.data.recover_until ?? parsed.data.connectorStartTime ?? false };
}

const graphQlAnswer = z.object({
  data: z.record(z.string(), z.unknown()).nullable().optional(),
  errors: z
    .array(z.object({ message: z.string(), extensions: z.object({ code: z.string().optional() }).loose().optional() }).loose())
    .optional(),
});

/** OpenCTI answers a bad token with HTTP 200 and these codes; say which setting to look at. */
const TOKEN_PROBLEMS = new Set(['AUTH_REQUIRED', 'FORBIDDEN_ACCESS']);

const registered = z.object({ registerConnector: z.object({ id: z.string(), connector_state: z.string().nullable().optional() }).loose() });
const pinged = z.object({ pingConnector: z.object({ id: z.string(), connector_state: z.string().nullable().optional() }).loose() });

const REGISTER = `mutation RegisterConnector($input: RegisterConnectorInput) {
  registerConnector(input: $input) { id connector_state connector_user_id }
}`;

const PING = `mutation PingConnector($id: ID!, $state: String, $connectorInfo: ConnectorInfoInput) {
  pingConnector(id: $id, state: $state, connectorInfo: $connectorInfo) { id connector_state }
}`;

/** Every GraphQL document the connector sends; a test validates each against the emulator's schema. */
export const GRAPHQL_DOCUMENTS: Readonly<Record<string, string>> = { register: REGISTER, ping: PING };
/** pycti's connector_info fields a stream connector can fill truthfully. */
export interface ConnectorRunInfo {
  buffering: boolean;
  queueMessagesSize: number;
}

export class OpenCtiApi {
  private readonly fetch: FetchFunction;

  constructor(
    private readonly opencti: OpenCtiSettings,
    private readonly connector: ConnectorSettings,
    /** How requests leave the process (proxy, TLS); common/http.ts. Default: direct. */
    fetch?: FetchFunction,
    private readonly maxAnswerBytes = MAX_GRAPHQL_ANSWER_BYTES,
  ) {
    this.fetch = fetch ?? createHttpClient().fetch;
  }

  private async call(query: string, variables: Record<string, unknown>): Promise<Record<string, unknown>> {
    const endpoint = `${this.opencti.url}/graphql`;
    let response: Response;
    try {
      response = await this.fetch(endpoint, {
        method: 'POST',
        // A redirect would carry the token to whatever host it names.
        redirect: 'manual',
        headers: { authorization: `Bearer ${this.opencti.token}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new Error(`OpenCTI GraphQL request failed: ${describeFetchError(error, OPENCTI_TLS_HINT)}`, { cause: error });
    }
    if (isRedirect(response)) {
      await discardBody(response);
      let target = 'another location';
      try {
        const location = response.headers.get('location');
        if (location) target = new URL(location, endpoint).origin;
      } catch {
        // still a redirect
      }
      throw new Error(
        `OpenCTI GraphQL answered ${response.status}, a redirect to ${target}; not followed, so the token stays with the configured host: check OPENCTI_URL`,
      );
    }
    if (!response.ok) {
      await discardBody(response);
      const hint = response.status === 401 || response.status === 403 ? ' (check OPENCTI_TOKEN)' : '';
      throw new Error(`OpenCTI GraphQL answered ${response.status}${hint}`);
    }
    let text: string;
    try {
      text = await readBodyBounded(response, this.maxAnswerBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError)
        throw new Error(
          `OpenCTI GraphQL ${error.message} (its answers are at most ${formatBytes(this.maxAnswerBytes)}): check OPENCTI_URL`,
          { cause: error },
        );
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new Error(`OpenCTI GraphQL answered ${response.status} with a body that is not JSON: check OPENCTI_URL`, { cause: error });
    }
    const answer = graphQlAnswer.parse(json);
    if (answer.errors?.length) {
      const hint = answer.errors.some((error) => TOKEN_PROBLEMS.has(error.extensions?.code ?? ''))
        ? ' (check OPENCTI_TOKEN: the connector needs the CONNECTORAPI capability)'
        : '';
      throw new Error(`OpenCTI GraphQL error: ${answer.errors.map((error) => error.message).join('; ')}${hint}`);
    }
    return answer.data ?? {};
  }

  /** Upserts the connector and returns the state OpenCTI kept for it. */
  async register(): Promise<string | null | undefined> {
    const data = await this.call(REGISTER, {
      input: {
        id: this.connector.id,
        name: this.connector.name,
        type: 'STREAM',
        scope: this.connector.scope.split(',').map((scope) => scope.trim()),
        auto: false,
        auto_update: false,
        enrichment_resolution: 'none',
        only_contextual: false,
        playbook_compatible: false,
        listen_callback_uri: null,
      },
    });
    return registered.parse(data).registerConnector.connector_state;
  }

  /**
   * Stores the state; returns what OpenCTI now holds ("" after a reset in the UI). `info` is what
   * the connectors page shows: whether the stream is paused for back-pressure, and how many
   * events wait for Temporal.
   */
  async ping(
    state: ConnectorState | undefined,
    info: ConnectorRunInfo = { buffering: false, queueMessagesSize: 0 },
  ): Promise<string | null | undefined> {
    const data = await this.call(PING, {
      id: this.connector.id,
      state: JSON.stringify(state ?? null),
      connectorInfo: {
        run_and_terminate: false,
        buffering: info.buffering,
        queue_threshold: 500,
        queue_messages_size: info.queueMessagesSize,
        next_run_datetime: null,
        last_run_datetime: null,
      },
    });
    return pinged.parse(data).pingConnector.connector_state;
  }
}
