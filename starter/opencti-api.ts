/**
 * The GraphQL calls a stream connector makes: register once, then ping, which both shows the
 * connector alive in OpenCTI and stores its stream position (the connector state).
 */
import { z } from 'zod';
import type { ConnectorSettings, OpenCtiSettings } from '../config/load';

/** The state shape pycti stores, so a Python deployment with the same CONNECTOR_ID keeps its place. */
export interface ConnectorState {
  start_from: string;
  recover_until?: string | false;
}

const stateShape = z
  .object({
    start_from: z.string().optional(),
    recover_until: z.union([z.string(), z.literal(false)]).nullable().optional(),
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
  errors: z.array(z.object({ message: z.string(), extensions: z.object({ code: z.string().optional() }).loose().optional() }).loose()).optional(),
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

/** pycti's connector_info fields a stream connector can fill truthfully. */
export interface ConnectorRunInfo {
  buffering: boolean;
  queueMessagesSize: number;
}

export class OpenCtiApi {
  constructor(
    private readonly opencti: OpenCtiSettings,
    private readonly connector: ConnectorSettings,
  ) {}

  private async call(query: string, variables: Record<string, unknown>): Promise<Record<string, unknown>> {
    const response = await fetch(`${this.opencti.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.opencti.token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(30_000),
    });
    if (!response.ok) {
      const hint = response.status === 401 || response.status === 403 ? ' (check OPENCTI_TOKEN)' : '';
      throw new Error(`OpenCTI GraphQL answered ${response.status}${hint}`);
    }
    const answer = graphQlAnswer.parse(await response.json());
    if (answer.errors?.length) {
      const hint = answer.errors.some((error) => TOKEN_PROBLEMS.has(error.extensions?.code ?? '')) ? ' (check OPENCTI_TOKEN: the connector needs the CONNECTORAPI capability)' : '';
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
  async ping(state: ConnectorState | undefined, info: ConnectorRunInfo = { buffering: false, queueMessagesSize: 0 }): Promise<string | null | undefined> {
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
