/**
 * The slice of the OpenCTI platform schema the emulator serves, as SDL. Every request is
 * parsed, validated against it and its variables coerced by graphql-js, exactly as the
 * platform's own server does, so a misspelled argument, an unknown input field or a variable
 * of the wrong type is refused here as it would be in production.
 *
 * Names and types follow the platform's schema (opencti.graphql, 6.x): the connector
 * operations of a stream connector, the `about` query pycti's health check sends, and the
 * fields pycti 6.8 and 7.x select on registration (7.x adds `jwks` and `config.s3`).
 * `@auth` carries the capabilities the platform requires; graphql.ts enforces them.
 */
import { buildSchema, GraphQLError, GraphQLScalarType, GraphQLSchema, Kind, ValueNode } from 'graphql';

export const SCHEMA_SDL = /* GraphQL */ `
  directive @auth(for: [Capabilities] = [], and: Boolean = false) on OBJECT | FIELD_DEFINITION

  scalar DateTime

  enum Capabilities {
    BYPASS
    CONNECTORAPI
    KNOWLEDGE
    MODULES
    MODULES_MODMANAGE
    SETTINGS
    TAXIIAPI
    TAXIIAPI_SETCOLLECTIONS
  }

  type Query {
    about: AppInfo @auth
    streamCollection(id: String!): StreamCollection @auth(for: [TAXIIAPI])
  }

  type Mutation {
    registerConnector(input: RegisterConnectorInput): Connector @auth(for: [CONNECTORAPI])
    pingConnector(id: ID!, state: String, connectorInfo: ConnectorInfoInput): Connector @auth(for: [CONNECTORAPI])
    deleteConnector(id: ID!): ID @auth(for: [MODULES_MODMANAGE])
  }

  type AppInfo {
    version: String!
  }

  enum ConnectorType {
    EXTERNAL_IMPORT
    INTERNAL_IMPORT_FILE
    INTERNAL_ENRICHMENT
    INTERNAL_ANALYSIS
    INTERNAL_EXPORT_FILE
    STREAM
  }

  input RegisterConnectorInput {
    id: ID!
    name: String!
    type: ConnectorType!
    scope: [String!]
    auto: Boolean
    auto_update: Boolean
    enrichment_resolution: String
    only_contextual: Boolean
    playbook_compatible: Boolean
    listen_callback_uri: String
    version: String
    slug: String
    xtm_one_intent: String
  }

  input ConnectorInfoInput {
    run_and_terminate: Boolean!
    buffering: Boolean!
    queue_threshold: Float!
    queue_messages_size: Float!
    next_run_datetime: DateTime
    last_run_datetime: DateTime
  }

  type ConnectorInfo {
    run_and_terminate: Boolean!
    buffering: Boolean!
    queue_threshold: Float!
    queue_messages_size: Float!
    next_run_datetime: DateTime
    last_run_datetime: DateTime
  }

  type RabbitMQConnection {
    host: String!
    vhost: String!
    use_ssl: Boolean!
    port: Int!
    user: String!
    pass: String!
  }

  type S3Connection {
    endpoint: String
    port: Int
    use_ssl: Boolean
    bucket_name: String
    bucket_region: String
    access_key: String
    secret_key: String
  }

  type ConnectorConfig {
    connection: RabbitMQConnection! @auth(for: [CONNECTORAPI])
    s3: S3Connection @auth(for: [CONNECTORAPI])
    listen: String!
    listen_routing: String!
    listen_exchange: String!
    listen_callback_uri: String
    push: String!
    push_routing: String!
    push_exchange: String!
    dead_letter_routing: String
  }

  type Connector {
    id: ID!
    standard_id: String!
    entity_type: String!
    parent_types: [String]!
    name: String!
    active: Boolean
    auto: Boolean
    auto_update: Boolean
    enrichment_resolution: String
    only_contextual: Boolean
    playbook_compatible: Boolean
    connector_type: String
    connector_scope: [String!]
    connector_state: String
    connector_state_reset: Boolean
    connector_user_id: ID
    connector_info: ConnectorInfo
    jwks: String
    updated_at: DateTime
    created_at: DateTime
    config: ConnectorConfig
    built_in: Boolean
  }

  type MemberAccess {
    id: ID!
    name: String!
    entity_type: String!
    access_right: String!
  }

  type StreamCollection {
    id: ID!
    name: String
    description: String
    filters: String
    stream_live: Boolean
    stream_public: Boolean
    authorized_members: [MemberAccess!] @auth(for: [TAXIIAPI_SETCOLLECTIONS])
  }
`;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

function parseDateTime(value: unknown): string {
  if (typeof value !== 'string' || !ISO_DATE.test(value) || Number.isNaN(Date.parse(value))) {
    throw new GraphQLError(`DateTime cannot represent an invalid date-time-string ${JSON.stringify(value)}.`);
  }
  return value;
}

/**
 * buildSchema gives custom scalars a pass-through implementation; the platform's DateTime
 * refuses anything that is not an RFC 3339 date-time, so this one does too.
 */
function withDateTime(schema: GraphQLSchema): GraphQLSchema {
  const dateTime = schema.getType('DateTime');
  if (!(dateTime instanceof GraphQLScalarType)) throw new Error('schema has no DateTime scalar');
  Object.assign(dateTime, {
    serialize: (value: unknown) => (value instanceof Date ? value.toISOString() : value),
    parseValue: parseDateTime,
    parseLiteral: (node: ValueNode) => {
      if (node.kind !== Kind.STRING) throw new GraphQLError(`DateTime cannot represent a non string value.`, { nodes: node });
      return parseDateTime(node.value);
    },
  });
  return schema;
}

export const SCHEMA: GraphQLSchema = withDateTime(buildSchema(SCHEMA_SDL));
