/**
 * `POST /graphql` — the operations a stream connector uses (reference §13):
 * registerConnector, pingConnector (with the reset handshake), streamCollection and
 * deleteConnector. Queries are parsed and validated against a tiny schema so a typo in a
 * connector's selection fails here as it would on the platform, and results are projected
 * onto the selection. Errors are HTTP 200 with `errors[]`, as the platform forces.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { StreamCollection } from './collection';
import { CONNECTOR_TYPES, ConnectorRecord, ConnectorRegistry } from './connectors';
import { FieldNode, GraphQLSyntaxError, parseOperation, resolveValue } from './graphql-parser';
import { bearerToken, readBody, sendJson } from './http';

const SCALARS = new Set(['ID', 'String', 'Boolean', 'Int', 'Float', 'DateTime']);

/** Field name → type name for the slice of the platform schema the emulator serves. */
const SCHEMA: Record<string, Record<string, string>> = {
  Query: { streamCollection: 'StreamCollection' },
  Mutation: { registerConnector: 'Connector', pingConnector: 'Connector', deleteConnector: 'ID' },
  Connector: {
    id: 'ID',
    name: 'String',
    active: 'Boolean',
    auto: 'Boolean',
    only_contextual: 'Boolean',
    playbook_compatible: 'Boolean',
    connector_type: 'String',
    connector_scope: 'String',
    connector_state: 'String',
    connector_state_reset: 'Boolean',
    connector_user_id: 'ID',
    config: 'ConnectorConfig',
    connector_info: 'ConnectorInfo',
    built_in: 'Boolean',
    created_at: 'DateTime',
    updated_at: 'DateTime',
  },
  ConnectorConfig: {
    connection: 'RabbitMQConnection',
    listen: 'String',
    listen_routing: 'String',
    listen_exchange: 'String',
    push: 'String',
    push_routing: 'String',
    push_exchange: 'String',
  },
  RabbitMQConnection: { host: 'String', vhost: 'String', use_ssl: 'Boolean', port: 'Int', user: 'String', pass: 'String' },
  ConnectorInfo: {
    run_and_terminate: 'Boolean',
    buffering: 'Boolean',
    queue_threshold: 'Float',
    queue_messages_size: 'Float',
    next_run_datetime: 'DateTime',
    last_run_datetime: 'DateTime',
  },
  StreamCollection: {
    id: 'ID',
    name: 'String',
    description: 'String',
    filters: 'String',
    stream_live: 'Boolean',
    stream_public: 'Boolean',
    authorized_members: 'MemberAccess',
  },
  MemberAccess: { id: 'ID', name: 'String', entity_type: 'String', access_right: 'String' },
};

interface GraphQLErrorBody {
  message: string;
  path?: string[];
  extensions: { code: string; data?: Record<string, unknown> };
}

class ResolverError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly data: Record<string, unknown>,
  ) {
    super(message);
  }
}

const authRequired = () => new ResolverError('You must be logged in to do this.', 'AUTH_REQUIRED', { http_status: 401, genre: 'TECHNICAL' });
const functionalError = (message: string, data: Record<string, unknown> = {}) =>
  new ResolverError(message, 'FUNCTIONAL_ERROR', { http_status: 500, genre: 'BUSINESS', ...data });

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
  }).loose(),
});
const pingArgs = z.object({
  id: z.string().min(1),
  state: z.string().nullish(),
  connectorInfo: z.record(z.string(), z.unknown()).nullish(),
});
const idArgs = z.object({ id: z.string().min(1) });

export interface GraphqlDeps {
  isValidToken(token: string | undefined): boolean;
  connectors: ConnectorRegistry;
  collection: StreamCollection;
  userId: string;
}

type Resolver = (args: Record<string, unknown>) => unknown;

function parseArgs<T>(schema: z.ZodType<T>, field: string, args: Record<string, unknown>): T {
  const result = schema.safeParse(args);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ResolverError(`Invalid arguments for ${field}: ${detail}`, 'BAD_USER_INPUT', { http_status: 400, genre: 'TECHNICAL' });
  }
  return result.data;
}

function validate(selections: FieldNode[], typeName: string, errors: GraphQLErrorBody[]): void {
  const fields = SCHEMA[typeName] ?? {};
  for (const field of selections) {
    if (field.name === '__typename') continue;
    const fieldType = fields[field.name];
    const fail = (message: string) => errors.push({ message, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    if (fieldType === undefined) {
      fail(`Cannot query field "${field.name}" on type "${typeName}".`);
    } else if (SCALARS.has(fieldType)) {
      if (field.selections) fail(`Field "${field.name}" must not have a selection since type "${fieldType}" has no subfields.`);
    } else if (!field.selections) {
      fail(`Field "${field.name}" of type "${fieldType}" must have a selection of subfields. Did you mean "${field.name} { ... }"?`);
    } else {
      validate(field.selections, fieldType, errors);
    }
  }
}

function project(value: unknown, selections: FieldNode[] | undefined, typeName: string): unknown {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map((item) => project(item, selections, typeName));
  if (!selections) return value;
  const source = value as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  for (const field of selections) {
    const key = field.alias ?? field.name;
    if (field.name === '__typename') {
      result[key] = typeName;
      continue;
    }
    const fieldType = SCHEMA[typeName]?.[field.name] ?? 'String';
    result[key] = project(source[field.name], field.selections, fieldType);
  }
  return result;
}

export class GraphqlEndpoint {
  private readonly mutations: Record<string, Resolver>;
  private readonly queries: Record<string, Resolver>;

  constructor(private readonly deps: GraphqlDeps) {
    this.queries = {
      streamCollection: (args) => {
        const { id } = parseArgs(idArgs, 'streamCollection', args);
        const c = deps.collection;
        if (id !== c.id) return null;
        return { id: c.id, name: c.name, description: c.description, filters: c.filters, stream_live: c.live, stream_public: false, authorized_members: [] };
      },
    };
    this.mutations = {
      registerConnector: (args) => {
        const { input } = parseArgs(registerArgs, 'registerConnector', args);
        return this.connectorView(deps.connectors.register(input));
      },
      pingConnector: (args) => {
        const { id, state, connectorInfo } = parseArgs(pingArgs, 'pingConnector', args);
        const record = deps.connectors.ping(id, state, connectorInfo);
        if (!record) throw functionalError('No connector found with the specified ID', { id });
        return this.connectorView(record);
      },
      deleteConnector: (args) => {
        const { id } = parseArgs(idArgs, 'deleteConnector', args);
        if (!deps.connectors.delete(id)) throw functionalError('No connector found with the specified ID', { id });
        return id;
      },
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      return sendJson(res, 405, { errors: [{ message: 'The emulator serves GraphQL over POST only', extensions: { code: 'BAD_REQUEST' } }] });
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
    sendJson(res, 200, this.execute(request.data.query, request.data.variables ?? {}, request.data.operationName, bearerToken(req)));
  }

  private execute(query: string, variables: Record<string, unknown>, operationName: string | null | undefined, token: string | undefined): unknown {
    let operation;
    try {
      operation = parseOperation(query, operationName);
    } catch (err) {
      if (err instanceof GraphQLSyntaxError) return { errors: [{ message: err.message, extensions: { code: 'GRAPHQL_PARSE_FAILED' } }] };
      throw err;
    }
    if (operation.operation === 'subscription') {
      return { errors: [{ message: 'Subscriptions are not served by the emulator', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] };
    }
    const rootType = operation.operation === 'mutation' ? 'Mutation' : 'Query';
    const validationErrors: GraphQLErrorBody[] = [];
    validate(operation.selections, rootType, validationErrors);
    if (validationErrors.length > 0) return { errors: validationErrors };

    const resolvers = operation.operation === 'mutation' ? this.mutations : this.queries;
    const effectiveVariables = { ...operation.variableDefaults, ...variables };
    const authenticated = this.deps.isValidToken(token);
    const data: Record<string, unknown> = {};
    const errors: GraphQLErrorBody[] = [];
    for (const field of operation.selections) {
      const key = field.alias ?? field.name;
      if (field.name === '__typename') {
        data[key] = rootType;
        continue;
      }
      try {
        if (!authenticated) throw authRequired();
        const resolver = resolvers[field.name];
        if (!resolver) throw new Error(`no resolver for ${field.name}`);
        const args = Object.fromEntries(Object.entries(field.args).map(([name, node]) => [name, resolveValue(node, effectiveVariables)]));
        data[key] = project(resolver(args), field.selections, SCHEMA[rootType]?.[field.name] ?? 'String');
      } catch (err) {
        data[key] = null;
        if (err instanceof ResolverError) {
          errors.push({ message: err.message, path: [key], extensions: { code: err.code, data: err.data } });
        } else {
          errors.push({ message: err instanceof Error ? err.message : String(err), path: [key], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
        }
      }
    }
    return errors.length > 0 ? { errors, data } : { data };
  }

  private connectorView(record: ConnectorRecord): Record<string, unknown> {
    return {
      id: record.id,
      name: record.name,
      active: true,
      auto: record.auto,
      only_contextual: record.onlyContextual,
      playbook_compatible: record.playbookCompatible,
      connector_type: record.type,
      connector_scope: record.scope,
      connector_state: record.state,
      connector_state_reset: record.resetPending,
      connector_user_id: this.deps.userId,
      // pycti reads these RabbitMQ settings even for STREAM connectors; a populated object keeps it happy.
      config: {
        connection: { host: 'localhost', vhost: '/', use_ssl: false, port: 5672, user: 'guest', pass: 'guest' },
        listen: `listen_${record.id}`,
        listen_routing: `listen_routing_${record.id}`,
        listen_exchange: 'amqp.connector.exchange',
        push: `push_${record.id}`,
        push_routing: `push_routing_${record.id}`,
        push_exchange: 'amqp.worker.exchange',
      },
      connector_info: record.info,
      built_in: false,
      created_at: record.createdAt,
      updated_at: record.updatedAt,
    };
  }
}
