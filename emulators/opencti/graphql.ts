/**
 * `POST /graphql` — the operations a stream connector uses (register, ping, the stream's collection, about), served by
 * graphql-js against the SDL in graphql-schema.ts: parse, validate, coerce variables,
 * execute. Errors are HTTP 200 with `errors[]`, as the platform forces, with the codes its
 * Apollo server gives: GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, BAD_USER_INPUT for
 * variables that do not coerce, then the resolvers' AUTH_REQUIRED, FORBIDDEN_ACCESS and
 * FUNCTIONAL_ERROR.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  defaultFieldResolver,
  execute,
  ExecutionResult,
  getOperationAST,
  GraphQLError,
  GraphQLFieldResolver,
  GraphQLFormattedError,
  GraphQLResolveInfo,
  parse,
  validate,
  valueFromASTUntyped,
} from 'graphql';
import { z } from 'zod';
import type { StreamCollection } from './collection';
import { CONNECTOR_TYPES, ConnectorRecord, ConnectorRegistry } from './connectors';
import { SCHEMA } from './graphql-schema';
import { bearerToken, readBody, sendJson } from './http';
import { platformJwks } from './jwks';

/** What the emulator answers to `about { version }`: the platform line the reference describes. */
export const EMULATED_PLATFORM_VERSION = '6.8.17';

/** Capabilities of a caller; `undefined` is an unknown or missing token. */
export type Capabilities = ReadonlySet<string> | undefined;

export interface GraphqlDeps {
  capabilitiesOf(token: string | undefined): Capabilities;
  connectors: ConnectorRegistry;
  collection: StreamCollection;
  userId: string;
}

const authRequired = () =>
  new GraphQLError('You must be logged in to do this.', {
    extensions: { code: 'AUTH_REQUIRED', data: { http_status: 401, genre: 'TECHNICAL' } },
  });
const forbidden = () =>
  new GraphQLError('You are not allowed to do this.', {
    extensions: { code: 'FORBIDDEN_ACCESS', data: { http_status: 403, genre: 'TECHNICAL' } },
  });
const functionalError = (message: string, data: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { code: 'FUNCTIONAL_ERROR', data: { http_status: 500, genre: 'BUSINESS', ...data } } });
const badUserInput = (message: string) =>
  new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', data: { http_status: 400, genre: 'TECHNICAL' } } });

/**
 * Constraints the platform adds on top of the schema types (its `@constraint` directive):
 * graphql-js has already refused unknown fields and wrong types by the time these run.
 */
const registerArgs = z.object({
  input: z.object({
    id: z.string().min(1),
    name: z.string().min(2),
    type: z.enum(CONNECTOR_TYPES),
    scope: z.array(z.string()).nullish(),
    auto: z.boolean().nullish(),
    auto_update: z.boolean().nullish(),
    only_contextual: z.boolean().nullish(),
    playbook_compatible: z.boolean().nullish(),
    enrichment_resolution: z.string().nullish(),
    listen_callback_uri: z.string().nullish(),
    version: z.string().nullish(),
    slug: z.string().nullish(),
    xtm_one_intent: z.string().nullish(),
  }),
});
const pingArgs = z.object({
  id: z.string().min(1),
  state: z.string().nullish(),
  connectorInfo: z.record(z.string(), z.unknown()).nullish(),
});
const idArgs = z.object({ id: z.string().min(1) });

function parseArgs<T>(schema: z.ZodType<T>, field: string, args: unknown): T {
  const result = schema.safeParse(args);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw badUserInput(`Invalid arguments for ${field}: ${detail}`);
  }
  return result.data;
}

interface RequestContext {
  capabilities: Capabilities;
}

/** Capabilities an `@auth(for: [...])` on the field demands; undefined when the field is open. */
const requiredCache = new Map<string, string[] | undefined>();
function requiredCapabilities(info: GraphQLResolveInfo): string[] | undefined {
  const key = `${info.parentType.name}.${info.fieldName}`;
  if (requiredCache.has(key)) return requiredCache.get(key);
  const directive = info.parentType.getFields()[info.fieldName]?.astNode?.directives?.find((d) => d.name.value === 'auth');
  let required: string[] | undefined;
  if (directive) {
    const forArg = directive.arguments?.find((a) => a.name.value === 'for');
    const value = forArg ? valueFromASTUntyped(forArg.value) : [];
    required = Array.isArray(value) ? value.map(String) : [String(value)];
  }
  requiredCache.set(key, required);
  return required;
}

/** The platform's @auth: any one of the listed capabilities (or BYPASS) grants the field. */
const authorizingResolver: GraphQLFieldResolver<unknown, RequestContext> = (source, args, context, info) => {
  const required = requiredCapabilities(info);
  if (required !== undefined) {
    const { capabilities } = context;
    if (capabilities === undefined) throw authRequired();
    const granted = capabilities.has('BYPASS') || required.length === 0 || required.some((capability) => capabilities.has(capability));
    if (!granted) throw forbidden();
  }
  return defaultFieldResolver(source, args, context, info);
};

/** Apollo's code for errors graphql-js raises itself, by phase. */
function withCode(errors: readonly GraphQLError[], code: string): GraphQLFormattedError[] {
  return errors.map((error) => {
    const formatted = error.toJSON();
    return { ...formatted, extensions: { ...formatted.extensions, code: formatted.extensions?.['code'] ?? code } };
  });
}

function formatResult(result: ExecutionResult): Record<string, unknown> {
  if (!result.errors?.length) return { data: result.data };
  const errors = result.errors.map((error) => {
    const formatted = error.toJSON();
    // Without a path the error is the variables' coercion, before any field ran; with one, a
    // resolver threw its own Error (a bug, not a platform answer).
    const code = formatted.extensions?.['code'] ?? (error.path === undefined ? 'BAD_USER_INPUT' : 'INTERNAL_SERVER_ERROR');
    return { ...formatted, extensions: { ...formatted.extensions, code } };
  });
  return result.data === undefined ? { errors } : { errors, data: result.data };
}

export class GraphqlEndpoint {
  private readonly rootValue: Record<string, unknown>;

  constructor(private readonly deps: GraphqlDeps) {
    this.rootValue = {
      about: () => ({ version: EMULATED_PLATFORM_VERSION }),
      streamCollection: (args: unknown) => {
        const { id } = parseArgs(idArgs, 'streamCollection', args);
        const c = deps.collection;
        if (id !== c.id) return null;
        return {
          id: c.id,
          name: c.name,
          description: c.description,
          filters: c.filters,
          stream_live: c.live,
          stream_public: false,
          authorized_members: [],
        };
      },
      registerConnector: (args: unknown) => {
        const { input } = parseArgs(registerArgs, 'registerConnector', args);
        return this.connectorView(deps.connectors.register(input));
      },
      pingConnector: (args: unknown) => {
        const { id, state, connectorInfo } = parseArgs(pingArgs, 'pingConnector', args);
        const record = deps.connectors.ping(id, state, connectorInfo);
        if (!record) throw functionalError('No connector found with the specified ID', { id });
        return this.connectorView(record);
      },
      deleteConnector: (args: unknown) => {
        const { id } = parseArgs(idArgs, 'deleteConnector', args);
        if (!deps.connectors.delete(id)) throw functionalError('No connector found with the specified ID', { id });
        return id;
      },
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      return sendJson(res, 405, {
        errors: [{ message: 'The emulator serves GraphQL over POST only', extensions: { code: 'BAD_REQUEST' } }],
      });
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return sendJson(res, 400, { errors: [{ message: 'Request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
    }
    const request = z
      .object({ query: z.string(), variables: z.record(z.string(), z.unknown()).nullish(), operationName: z.string().nullish() })
      .safeParse(body);
    if (!request.success) {
      return sendJson(res, 400, { errors: [{ message: 'POST body must contain a "query" string', extensions: { code: 'BAD_REQUEST' } }] });
    }
    const { query, variables, operationName } = request.data;
    sendJson(res, 200, await this.execute(query, variables ?? {}, operationName ?? undefined, bearerToken(req)));
  }

  async execute(
    query: string,
    variables: Record<string, unknown>,
    operationName: string | undefined,
    token: string | undefined,
  ): Promise<Record<string, unknown>> {
    let document;
    try {
      document = parse(query);
    } catch (err) {
      if (err instanceof GraphQLError) return { errors: withCode([err], 'GRAPHQL_PARSE_FAILED') };
      throw err;
    }
    const validationErrors = validate(SCHEMA, document);
    if (validationErrors.length > 0) return { errors: withCode(validationErrors, 'GRAPHQL_VALIDATION_FAILED') };
    if (getOperationAST(document, operationName)?.operation === 'subscription') {
      return { errors: [{ message: 'Subscriptions are not served by the emulator', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] };
    }
    const context: RequestContext = { capabilities: this.deps.capabilitiesOf(token) };
    const result = await execute({
      schema: SCHEMA,
      document,
      rootValue: this.rootValue,
      contextValue: context,
      variableValues: variables,
      operationName: operationName ?? null,
      fieldResolver: authorizingResolver,
    });
    return formatResult(result);
  }

  private connectorView(record: ConnectorRecord): Record<string, unknown> {
    return {
      id: record.id,
      standard_id: `connector--${record.id}`,
      entity_type: 'Connector',
      parent_types: ['Basic-Object', 'Internal-Object'],
      name: record.name,
      active: true,
      auto: record.auto,
      auto_update: record.autoUpdate,
      enrichment_resolution: record.enrichmentResolution,
      only_contextual: record.onlyContextual,
      playbook_compatible: record.playbookCompatible,
      connector_type: record.type,
      connector_scope: record.scope,
      connector_state: record.state,
      connector_state_reset: record.resetPending,
      connector_user_id: this.deps.userId,
      jwks: () => platformJwks(),
      // pycti reads the RabbitMQ settings (and 7.x the S3 ones) even for STREAM connectors;
      // populated objects keep it happy.
      config: {
        connection: { host: 'localhost', vhost: '/', use_ssl: false, port: 5672, user: 'guest', pass: 'guest' },
        s3: {
          endpoint: 'localhost',
          port: 9000,
          use_ssl: false,
          bucket_name: 'opencti-bucket',
          bucket_region: 'us-east-1',
          access_key: 'emulator',
          secret_key: 'emulator',
        },
        listen: `listen_${record.id}`,
        listen_routing: `listen_routing_${record.id}`,
        listen_exchange: 'amqp.connector.exchange',
        listen_callback_uri: null,
        push: `push_${record.id}`,
        push_routing: `push_routing_${record.id}`,
        push_exchange: 'amqp.worker.exchange',
        dead_letter_routing: 'listen_routing_too-large-bundle',
      },
      connector_info: record.info,
      built_in: false,
      created_at: record.createdAt,
      updated_at: record.updatedAt,
    };
  }
}
