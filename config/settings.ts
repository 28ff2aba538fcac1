/**
 * Every configuration variable, declared once: its name, what it means, its default, whether it
 * is mandatory or secret, which processes read it and how its value is validated. The section
 * schemas (config/schema.ts), the known config.yml keys (config/file-keys.ts), the README's
 * configuration tables, config.yml.sample and the OpenCTI catalog metadata (__metadata__/) are
 * all derived from this list (`npm run generate:config` writes the files; a unit test fails when
 * one of them is stale).
 *
 * The config.yml key is not declared: it follows from the name (`section: key` is SECTION_KEY,
 * see fileKeyOf), which is how config/load.ts reads the file.
 */
import { z } from 'zod';
import {
  duration,
  editorList,
  emailList,
  flag,
  httpUrl,
  integer,
  logLevel,
  optionalText,
  positiveNumber,
  proxyUrl,
  recoverDate,
  required,
  streamStart,
} from './validators';

/**
 * Which section schema validates the variable, hence which roles refuse to start when it is bad:
 * opencti and connector by the starter, virustotal by the worker, the others by every role.
 */
export type Group = 'opencti' | 'connector' | 'virustotal' | 'temporal' | 'network' | 'common';

/** A process that uses the value: `embedded server` is `npm start`'s own Temporal dev server. */
export type Reader = 'worker' | 'starter' | 'embedded server';

export type Literal = string | number | boolean | readonly string[];

/** How the OpenCTI catalog (JSON Schema) describes the value as an environment variable. */
export interface JsonType {
  type: 'string' | 'boolean' | 'integer' | 'number' | 'array';
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  enum?: readonly string[];
  format?: string;
  items?: { type: 'string'; format?: string };
}

export interface Setting<E extends string = string, G extends Group = Group, V extends z.ZodType | undefined = z.ZodType | undefined> {
  env: E;
  /** Other spellings read for the same value (the lowercase proxy variables, which win). */
  aliases?: readonly string[];
  group: G;
  /** Markdown, as the README shows it; the sample and the catalog get it as plain text. */
  description: string;
  /** The value used when the variable is unset, as written in config.yml. */
  default?: Literal;
  /** When unset means something no literal says ("now", "unlimited"). */
  defaultNote?: string;
  /** A value for config.yml.sample where there is no default and no ChangeMe placeholder. */
  example?: Literal;
  mandatory: boolean;
  secret: boolean;
  readBy: readonly Reader[];
  /** Absent: not validated here, handed to the Temporal SDK's own environment configuration. */
  validator: V;
  json: JsonType;
}

const setting = <const E extends string, const G extends Group, V extends z.ZodType | undefined>(declared: Setting<E, G, V>) => declared;

// Value kinds whose default is given once and reaches both the validator and the documentation.
const booleanWithDefault = <const D extends boolean>(fallback: D) => ({
  default: fallback,
  validator: flag(fallback),
  json: { type: 'boolean' } as const,
});
const integerWithDefault = (fallback: number, minimum: number, maximum: number) => ({
  default: fallback,
  validator: integer(fallback, minimum, maximum),
  json: { type: 'integer', minimum, maximum } as const,
});
const textWithDefault = (fallback: string) => ({
  default: fallback,
  validator: optionalText().transform((value) => value ?? fallback),
  json: { type: 'string' } as const,
});
const optional = { mandatory: false, secret: false } as const;
const STARTER = ['starter'] as const;
const WORKER = ['worker'] as const;
const BOTH = ['worker', 'starter'] as const;
const EMBEDDED = ['embedded server'] as const;

/** Read by the Temporal SDK's environment configuration (temporal/connection.ts hands them over). */
const temporalSdk = <const E extends string>(
  env: E,
  description: string,
  more: { secret?: boolean; example?: Literal; json?: JsonType } = {},
) =>
  setting({
    env,
    group: 'temporal',
    description,
    example: more.example,
    mandatory: false,
    secret: more.secret ?? false,
    readBy: BOTH,
    validator: undefined,
    json: more.json ?? { type: 'string' },
  });

export const SETTINGS = [
  // OpenCTI
  setting({
    env: 'OPENCTI_URL',
    group: 'opencti',
    description:
      'URL of the OpenCTI platform. No `user:password@` in it (refused: it would end up in logs). Redirects are never followed, so the token stays with this host.',
    example: 'http://localhost:8080',
    mandatory: true,
    secret: false,
    readBy: STARTER,
    validator: httpUrl('the URL of the OpenCTI platform'),
    json: { type: 'string', format: 'uri' },
  }),
  setting({
    env: 'OPENCTI_TOKEN',
    group: 'opencti',
    description: 'OpenCTI API token (sent as `Authorization: Bearer`).',
    mandatory: true,
    secret: true,
    readBy: STARTER,
    validator: required('an OpenCTI API token'),
    json: { type: 'string' },
  }),
  setting({
    env: 'OPENCTI_SSL_VERIFY',
    // Validated by every role, as it always was, though only the starter talks to OpenCTI.
    group: 'network',
    description:
      "pycti's setting: `false` accepts any certificate from OpenCTI (self-signed), with a warning at start-up. For a private CA prefer `NODE_EXTRA_CA_CERTS` (see [Network](#network-proxies-and-private-cas)).",
    ...optional,
    ...booleanWithDefault(true),
    readBy: STARTER,
  }),

  // Connector
  setting({
    env: 'CONNECTOR_ID',
    group: 'connector',
    description: "UUID of this connector instance. Keep the Python connector's id to keep its stream position.",
    mandatory: true,
    secret: false,
    readBy: STARTER,
    validator: required('a UUIDv4 identifying this connector').pipe(z.uuid('must be a UUID')),
    json: { type: 'string', format: 'uuid' },
  }),
  setting({
    env: 'CONNECTOR_NAME',
    group: 'connector',
    description: 'Name shown in OpenCTI.',
    ...optional,
    ...textWithDefault('VirusTotal LiveHunts'),
    readBy: STARTER,
  }),
  setting({
    env: 'CONNECTOR_SCOPE',
    group: 'connector',
    // Informational for a stream connector: any value is accepted, an unexpected one is warned
    // about at start-up (unexpectedScope in config/schema.ts).
    description:
      "Informational (OpenCTI displays it; YARA indicators are read whatever it says). Any value is accepted; one other than `yara`, `Yara`, `Virustotal` (the Python connector's compose file) or `Indicator` is warned about once at start-up.",
    ...optional,
    ...textWithDefault('yara'),
    readBy: STARTER,
  }),
  setting({
    env: 'CONNECTOR_LIVE_STREAM_ID',
    group: 'connector',
    description: 'Id of the live stream created in OpenCTI (not `ChangeMe`).',
    mandatory: true,
    secret: false,
    readBy: STARTER,
    validator: required('the id of the live stream created in OpenCTI'),
    json: { type: 'string' },
  }),
  setting({
    env: 'CONNECTOR_LIVE_STREAM_LISTEN_DELETE',
    group: 'connector',
    description: 'Receive delete events.',
    ...optional,
    ...booleanWithDefault(true),
    readBy: STARTER,
  }),
  setting({
    env: 'CONNECTOR_LIVE_STREAM_NO_DEPENDENCIES',
    group: 'connector',
    description: '`true` unless synchronising platforms.',
    ...optional,
    ...booleanWithDefault(true),
    readBy: STARTER,
  }),
  setting({
    env: 'CONNECTOR_LIVE_STREAM_WITH_INFERENCES',
    group: 'connector',
    description: 'Also receive inferred objects.',
    ...optional,
    ...booleanWithDefault(false),
    readBy: STARTER,
  }),
  setting({
    env: 'CONNECTOR_LIVE_STREAM_START_TIMESTAMP',
    group: 'connector',
    description: 'First run only: start from this epoch-ms (pycti semantics).',
    ...optional,
    readBy: STARTER,
    validator: streamStart,
    json: { type: 'string' },
  }),
  setting({
    env: 'CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE',
    group: 'connector',
    description: 'First run only: snapshot of existing indicators up to this date.',
    defaultNote: 'now',
    ...optional,
    readBy: STARTER,
    validator: recoverDate,
    json: { type: 'string', format: 'date-time' },
  }),
  setting({
    env: 'CONNECTOR_CONFIDENCE_LEVEL',
    group: 'connector',
    description: '0–100 (kept for compatibility; nothing is written to OpenCTI).',
    ...optional,
    ...integerWithDefault(80, 0, 100),
    readBy: STARTER,
  }),
  setting({
    env: 'CONNECTOR_LOG_LEVEL',
    group: 'common',
    description: "`debug`, `info`, `warn`, `error`. Applies to the Temporal SDK's own entries too (see Observing it).",
    default: 'info',
    ...optional,
    readBy: BOTH,
    validator: logLevel,
    json: { type: 'string', enum: ['debug', 'info', 'warn', 'warning', 'error'] },
  }),
  setting({
    env: 'CONNECTOR_MAX_IN_FLIGHT_EVENTS',
    group: 'connector',
    description: "Events of different indicators handed to Temporal in parallel (one indicator's events never overtake each other).",
    ...optional,
    ...integerWithDefault(64, 1, 10_000),
    readBy: STARTER,
  }),
  setting({
    env: 'CONNECTOR_MAX_BUFFERED_EVENTS',
    group: 'connector',
    // Memory stays bounded: beyond it the starter resumes from its acknowledged position later.
    description:
      'Events held in memory while Temporal is slow or unreachable; beyond it the starter closes the stream and reopens it, from where it had read, once Temporal has caught up.',
    ...optional,
    ...integerWithDefault(10_000, 1, 1_000_000),
    readBy: STARTER,
  }),
  setting({
    env: 'CONNECTOR_LIVE_STREAM_WATCHDOG_SECONDS',
    group: 'connector',
    description: 'Reconnect when no frame with an id (heartbeats included) arrived for this long.',
    ...optional,
    ...integerWithDefault(45, 1, 3_600),
    readBy: STARTER,
  }),
  setting({
    env: 'CONNECTOR_EXPOSE_METRICS',
    group: 'common',
    description: "Serve Prometheus metrics and the `/healthz`, `/readyz` probes on `CONNECTOR_METRICS_PORT` (pycti's names).",
    ...optional,
    ...booleanWithDefault(false),
    readBy: BOTH,
  }),
  setting({
    env: 'CONNECTOR_METRICS_PORT',
    group: 'common',
    description:
      'HTTP port of `/metrics`, `/healthz` and `/readyz` (one per process: give the worker and the starter different ports on one host).',
    ...optional,
    ...integerWithDefault(9095, 1, 65_535),
    readBy: BOTH,
  }),

  // VirusTotal Livehunt
  setting({
    env: 'VIRUSTOTAL_LIVEHUNT_TOKEN',
    group: 'virustotal',
    description: 'VirusTotal API key with Livehunt access (sent as `x-apikey`, never logged).',
    mandatory: true,
    secret: true,
    readBy: WORKER,
    validator: required('a VirusTotal API key with Livehunt access'),
    json: { type: 'string' },
  }),
  setting({
    env: 'VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS',
    group: 'virustotal',
    description: 'Comma-separated e-mails, or a JSON list (`["a@x.org", "b@x.org"]`; `[]` for none).',
    example: ['user@example.com'],
    mandatory: true,
    secret: false,
    readBy: WORKER,
    validator: emailList,
    json: { type: 'array', items: { type: 'string', format: 'email' } },
  }),
  setting({
    env: 'VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS',
    group: 'virustotal',
    description:
      'Editors to share each ruleset with: the seed\'s JSON list (`["user1", "user2"]`) or comma-separated; `group:NAME` is a VirusTotal group, plain names are users. Added in one request.',
    default: [],
    ...optional,
    readBy: WORKER,
    validator: editorList,
    json: { type: 'array', items: { type: 'string' } },
  }),
  setting({
    env: 'VIRUSTOTAL_LIVEHUNT_API_URL',
    group: 'virustotal',
    description:
      'API base URL. No `user:password@` in it (refused). Redirects are never followed, so the key stays with this host; answers over 16 MiB are refused unread.',
    default: 'https://www.virustotal.com/api/v3',
    ...optional,
    readBy: WORKER,
    validator: optionalText()
      .transform((value) => (value ?? 'https://www.virustotal.com/api/v3').replace(/\/+$/, ''))
      .pipe(httpUrl('the VirusTotal API base URL')),
    json: { type: 'string', format: 'uri' },
  }),
  setting({
    env: 'VIRUSTOTAL_LIVEHUNT_UPDATE_MODE',
    group: 'virustotal',
    description:
      'Changed rule content: `recreate` (the seed: delete, create, share again) or `patch` (update in place, keeping id, editors and history).',
    default: 'recreate',
    ...optional,
    readBy: WORKER,
    validator: optionalText()
      .transform((value) => (value ?? 'recreate').toLowerCase())
      .refine((value) => value === 'recreate' || value === 'patch', 'must be recreate or patch')
      .transform((value) => value as 'recreate' | 'patch'),
    json: { type: 'string', enum: ['recreate', 'patch'] },
  }),
  setting({
    env: 'VIRUSTOTAL_LIVEHUNT_ADOPT_EXISTING',
    group: 'virustotal',
    description:
      "Take over a ruleset the Python connector made (owned by this account, exactly the indicator's name and rules) instead of creating a duplicate. Each worker reads the account's rulesets once at start (every page) to know the candidates.",
    ...optional,
    ...booleanWithDefault(true),
    readBy: WORKER,
  }),
  setting({
    env: 'VIRUSTOTAL_LIVEHUNT_MAX_REQUESTS_PER_SECOND',
    group: 'virustotal',
    description:
      'VirusTotal requests per second. Across all workers it is a Temporal task-queue rate limit on activities (the usual activity makes two requests, create and share, so activities get half of it); within a worker every request is also spaced evenly under it, because the task queue admits activities in bursts. With several workers the per-worker spacing does not add up across them, so keep a margin.',
    defaultNote: 'unlimited',
    ...optional,
    readBy: WORKER,
    validator: positiveNumber(),
    json: { type: 'number', exclusiveMinimum: 0 },
  }),
  setting({
    env: 'VIRUSTOTAL_LIVEHUNT_VERIFY_INTERVAL',
    group: 'virustotal',
    // Every check reads each ruleset: under a minute it would spend the quota on reads.
    description:
      'How often each ruleset is checked and repaired if deleted or edited by hand: at least `1m` (each check reads the ruleset), or `0` to disable; `90s`, `15m`, `7d`...',
    default: '24h',
    ...optional,
    readBy: WORKER,
    validator: duration('24h', 60_000, true),
    json: { type: 'string' },
  }),
  setting({
    env: 'VIRUSTOTAL_LIVEHUNT_RULESET_LIMIT',
    group: 'virustotal',
    description: "The ruleset's `limit` (notifications per 24 h), as the Python connector hard-coded.",
    ...optional,
    ...integerWithDefault(100, 1, 1_000_000),
    readBy: WORKER,
  }),
  setting({
    env: 'VIRUSTOTAL_LIVEHUNT_NEW_FILES_ONLY',
    group: 'virustotal',
    description:
      'File rulesets notify only on files VirusTotal sees for the first time: every rule that can notify (all but `private` ones, `global` ones included) gets `vt.metadata.new_file and (<its condition>)`, and `import "vt"` is added once when missing. URL, domain and IP rulesets are sent as written. VirusTotal holds the restricted text; the workflow keeps the pattern as written, and checks compare VirusTotal\'s text with the restricted one. A change of this setting reaches existing rulesets at their next check (`VIRUSTOTAL_LIVEHUNT_VERIFY_INTERVAL`) or `reapply`.',
    ...optional,
    ...booleanWithDefault(false),
    readBy: WORKER,
  }),

  // Temporal
  setting({
    env: 'TEMPORAL_ADDRESS',
    group: 'temporal',
    description: '`host:port` of the Temporal frontend. Required by `npm run worker` and `npm run starter` (and their containers).',
    defaultNote: '`npm start` embeds a dev server',
    ...optional,
    readBy: BOTH,
    validator: optionalText(),
    json: { type: 'string' },
  }),
  setting({
    env: 'TEMPORAL_NAMESPACE',
    group: 'temporal',
    description: 'Namespace.',
    ...optional,
    ...textWithDefault('default'),
    readBy: BOTH,
  }),
  temporalSdk('TEMPORAL_API_KEY', 'API key (Temporal Cloud); turns TLS on.', { secret: true, example: 'ChangeMe' }),
  temporalSdk('TEMPORAL_TLS', '`true` turns TLS on, `false` off; an API key or any of the `TEMPORAL_TLS_*` below turns it on.', {
    example: true,
    json: { type: 'boolean' },
  }),
  temporalSdk('TEMPORAL_TLS_CLIENT_CERT_PATH', 'mTLS: client certificate (PEM file).', { example: '/certs/client.pem' }),
  temporalSdk('TEMPORAL_TLS_CLIENT_CERT_DATA', 'mTLS: client certificate (PEM text), instead of the path.'),
  temporalSdk('TEMPORAL_TLS_CLIENT_KEY_PATH', "mTLS: the client certificate's private key (PEM file).", { example: '/certs/client.key' }),
  temporalSdk('TEMPORAL_TLS_CLIENT_KEY_DATA', "mTLS: the client certificate's private key (PEM text), instead of the path.", {
    secret: true,
  }),
  temporalSdk('TEMPORAL_TLS_SERVER_CA_CERT_PATH', "CA that signed the server's certificate (PEM file).", { example: '/certs/ca.pem' }),
  temporalSdk('TEMPORAL_TLS_SERVER_CA_CERT_DATA', "CA that signed the server's certificate (PEM text), instead of the path."),
  temporalSdk('TEMPORAL_TLS_SERVER_NAME', "Name expected in the server's certificate.", { example: 'temporal.example.com' }),
  temporalSdk(
    'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION',
    "Accepted, but the TypeScript SDK's connection does not apply it: the server's certificate is still checked (`TEMPORAL_TLS_SERVER_NAME` names the host it was issued to).",
    { json: { type: 'boolean' } },
  ),
  temporalSdk(
    'TEMPORAL_CONFIG_FILE',
    "The SDK's TOML client configuration file (profiles holding address, namespace, API key and TLS settings).",
    {
      example: '/etc/temporal/temporal.toml',
    },
  ),
  temporalSdk('TEMPORAL_PROFILE', 'Profile of that file to use.'),
  // Parsed by the SDK's environment configuration, which leaves the codec out of the connection.
  temporalSdk(
    'TEMPORAL_CODEC_ENDPOINT',
    "Accepted for the SDK's environment configuration; the connector's connections use no remote codec.",
  ),
  temporalSdk('TEMPORAL_CODEC_AUTH', "Accepted for the SDK's environment configuration; the connector's connections use no remote codec.", {
    secret: true,
  }),
  setting({
    env: 'TEMPORAL_TASK_QUEUE',
    group: 'temporal',
    description: 'Same value on workers and starter; a different one for each connector deployment sharing a Temporal namespace.',
    ...optional,
    ...textWithDefault('virustotal-livehunt'),
    readBy: BOTH,
  }),
  setting({
    env: 'TEMPORAL_CLI_PATH',
    group: 'temporal',
    description: 'Temporal CLI for the embedded server.',
    ...optional,
    readBy: EMBEDDED,
    validator: optionalText(),
    json: { type: 'string' },
  }),
  setting({
    env: 'TEMPORAL_DEV_SERVER_PORT',
    group: 'temporal',
    description: 'Embedded server gRPC port.',
    ...optional,
    ...integerWithDefault(7233, 0, 65_535),
    readBy: EMBEDDED,
  }),
  setting({
    env: 'TEMPORAL_DEV_SERVER_UI_PORT',
    group: 'temporal',
    description: 'Embedded server Web UI port.',
    ...optional,
    ...integerWithDefault(8233, 0, 65_535),
    readBy: EMBEDDED,
  }),
  setting({
    env: 'CONNECTOR_DATA_DIR',
    // Its config.yml key is connector.data_dir, but only the embedded Temporal server uses it:
    // validated and documented with the other embedded-server settings.
    group: 'temporal',
    description: '`npm start` only: where the embedded Temporal server keeps its SQLite file and log.',
    ...optional,
    ...textWithDefault('data'),
    readBy: EMBEDDED,
  }),
  setting({
    env: 'TEMPORAL_WORKER_MAX_CONCURRENT_ACTIVITIES',
    group: 'temporal',
    description: 'VirusTotal calls in flight per worker.',
    ...optional,
    ...integerWithDefault(100, 1, 10_000),
    readBy: WORKER,
  }),
  setting({
    env: 'TEMPORAL_WORKER_MAX_CACHED_WORKFLOWS',
    group: 'temporal',
    // The SDK's default (thousands, sized on the heap limit) makes a worker holding 10,000 live
    // rulesets grow past a gigabyte.
    description:
      "Indicator workflows kept in worker memory between events; the others are replayed from their history when they wake. Bounds the worker's memory however many rulesets are live.",
    ...optional,
    ...integerWithDefault(100, 0, 100_000),
    readBy: WORKER,
  }),

  // Network (common/http.ts). The lowercase spellings win, as in curl and Python's requests.
  setting({
    env: 'HTTPS_PROXY',
    aliases: ['https_proxy'],
    group: 'network',
    description: 'Proxy for `https://` targets (VirusTotal, an https OpenCTI): `http://proxy:3128`, `https://...`, or `proxy:3128`.',
    example: 'http://proxy.example.org:3128',
    ...optional,
    readBy: BOTH,
    validator: proxyUrl,
    json: { type: 'string' },
  }),
  setting({
    env: 'HTTP_PROXY',
    aliases: ['http_proxy'],
    group: 'network',
    description: 'Proxy for `http://` targets, and for `https://` ones when no HTTPS proxy is set.',
    example: 'http://proxy.example.org:3128',
    ...optional,
    readBy: BOTH,
    validator: proxyUrl,
    json: { type: 'string' },
  }),
  setting({
    env: 'NO_PROXY',
    aliases: ['no_proxy'],
    group: 'network',
    description: 'Hosts reached directly: comma-separated names, `.domain` suffixes, `host:port`, IPs, `*`.',
    example: 'localhost,.internal.example.org',
    ...optional,
    readBy: BOTH,
    validator: optionalText(),
    json: { type: 'string' },
  }),
] as const;

type Declared = (typeof SETTINGS)[number];

/** The validated variables of a group, keyed by name, in declaration order. */
export type ShapeOf<G extends Group> = {
  [S in Extract<Declared, { group: G; validator: z.ZodType }> as S['env']]: S['validator'];
};

export function shapeOf<G extends Group>(group: G): ShapeOf<G> {
  const entries = SETTINGS.filter((declared) => declared.group === group && declared.validator !== undefined).map((declared) => [
    declared.env,
    declared.validator,
  ]);
  return Object.fromEntries(entries) as ShapeOf<G>;
}

/** Sections of config.yml, each the prefix of the variables it holds; other keys are top-level. */
export const FILE_SECTIONS = ['opencti', 'connector', 'virustotal_livehunt', 'temporal'] as const;
export type FileSection = (typeof FILE_SECTIONS)[number];

/** The config.yml section holding a variable, or undefined for a top-level key (the proxies). */
export function fileSectionOf(name: string): FileSection | undefined {
  return FILE_SECTIONS.find((section) => name.startsWith(`${section.toUpperCase()}_`));
}

/** `VIRUSTOTAL_LIVEHUNT_UPDATE_MODE` as it is written in config.yml: `virustotal_livehunt.update_mode`. */
export function fileKeyOf(name: string): string {
  const section = fileSectionOf(name);
  return section ? `${section}.${name.slice(section.length + 1).toLowerCase()}` : name.toLowerCase();
}
