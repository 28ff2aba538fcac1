/**
 * The connector's configuration, validated once at start-up. Keys are the environment variable
 * names so that every validation error names the variable the operator has to fix.
 */
import { z } from 'zod';
import { parseBoolean, parseDurationMs, parseEditor, parseList } from './values';

const PLACEHOLDER = 'ChangeMe';

/** `ChangeMe` however it is spelled (changeme, CHANGEME): never a real secret or id. */
export const isPlaceholder = (value: string) => value.trim().toLowerCase() === PLACEHOLDER.toLowerCase();

const text = () => z.string().trim();

const required = (what: string) =>
  text()
    .min(1, `is required (${what})`)
    .refine((value) => !isPlaceholder(value), `is still the placeholder "${PLACEHOLDER}" (${what})`);

const optionalText = () =>
  text()
    .optional()
    .transform((value) => (value === '' ? undefined : value));

const flag = (fallback: boolean) =>
  optionalText().transform((value, ctx) => {
    if (value === undefined) return fallback;
    const parsed = parseBoolean(value);
    if (parsed === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be true or false' });
      return z.NEVER;
    }
    return parsed;
  });

const integer = (fallback: number, min: number, max: number) =>
  optionalText().transform((value, ctx) => {
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      ctx.addIssue({ code: 'custom', message: `must be an integer from ${min} to ${max}` });
      return z.NEVER;
    }
    return parsed;
  });

const positiveNumber = () =>
  optionalText().transform((value, ctx) => {
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed <= 0) {
      ctx.addIssue({ code: 'custom', message: 'must be a positive number' });
      return z.NEVER;
    }
    return parsed;
  });

/** A duration of at least `minMs`, or 0 when `zeroDisables`. */
const duration = (fallback: string, minMs: number, zeroDisables: boolean) =>
  optionalText().transform((value, ctx) => {
    const parsed = parseDurationMs(value ?? fallback);
    if (parsed === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration such as 0, 90s, 15m, 24h or 7d' });
      return z.NEVER;
    }
    if (parsed === 0 && zeroDisables) return 0;
    if (parsed < minMs) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${minMs / 60_000} minute${minMs === 60_000 ? '' : 's'}${zeroDisables ? ', or 0 to disable' : ''}` });
      return z.NEVER;
    }
    return parsed;
  });

/**
 * An http(s) URL without credentials in it: a `user:password@` would travel in logs, in activity
 * failures the Web UI shows, and to any host a redirect named. Messages never repeat the value.
 */
const httpUrl = (what: string) =>
  required(what).superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an http(s) URL' });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: 'must be an http(s) URL' });
    else if (url.username !== '' || url.password !== '') {
      ctx.addIssue({ code: 'custom', message: 'must not contain a user name or password (user:password@host); tokens go in their own variables (value not shown)' });
    }
  });

/**
 * A proxy URL (HTTPS_PROXY, HTTP_PROXY): `http://host:port`, `https://...`, or `host:port` as
 * Python's requests accepts it. Credentials for the proxy itself are allowed and never shown.
 */
const proxyUrl = optionalText().transform((value, ctx) => {
  if (value === undefined) return undefined;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  try {
    const url = new URL(withScheme);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.hostname) return withScheme;
  } catch {
    // reported below
  }
  ctx.addIssue({ code: 'custom', message: 'must be a proxy URL such as http://proxy.example.org:3128 (value not shown)' });
  return z.NEVER;
});

const emailFormat = z.email();

const emailList = optionalText().transform((value, ctx) => {
  if (value === undefined) {
    ctx.addIssue({ code: 'custom', message: 'is required (comma-separated e-mail addresses, or a JSON list; [] for none)' });
    return z.NEVER;
  }
  const list = parseList(value);
  if ('error' in list) {
    ctx.addIssue({ code: 'custom', message: list.error });
    return z.NEVER;
  }
  const invalid = list.filter((entry) => !emailFormat.safeParse(entry).success);
  if (invalid.length > 0) {
    ctx.addIssue({ code: 'custom', message: `contains ${invalid.length === 1 ? 'an entry that is' : 'entries that are'} not an e-mail address: ${invalid.map((e) => JSON.stringify(e)).join(', ')}` });
    return z.NEVER;
  }
  return [...new Set(list)];
});

const editorList = optionalText().transform((value, ctx) => {
  if (value === undefined) return [];
  const list = parseList(value);
  if ('error' in list) {
    ctx.addIssue({ code: 'custom', message: list.error });
    return z.NEVER;
  }
  if (list.some(isPlaceholder)) {
    ctx.addIssue({ code: 'custom', message: `is still the placeholder "${PLACEHOLDER}"` });
    return z.NEVER;
  }
  const editors = list.map(parseEditor);
  const unique = new Map(editors.map((editor) => [`${editor.type}:${editor.id}`, editor]));
  return [...unique.values()];
});

const logLevel = optionalText().transform((value, ctx) => {
  const level = (value ?? 'info').toLowerCase();
  const normalised = level === 'warning' ? 'warn' : level;
  if (!['debug', 'info', 'warn', 'error'].includes(normalised)) {
    ctx.addIssue({ code: 'custom', message: 'must be one of debug, info, warn, error' });
    return z.NEVER;
  }
  return normalised as 'debug' | 'info' | 'warn' | 'error';
});

const streamStart = optionalText().refine(
  (value) => value === undefined || /^\d+(-\d+)?$/.test(value),
  'must be an epoch timestamp in milliseconds (or a stream id <ms>-<seq>)',
);

const recoverDate = optionalText().refine(
  (value) => value === undefined || !Number.isNaN(Date.parse(value)),
  'must be an ISO-8601 date such as 2025-03-04T14:53:20Z',
);

export const openCtiSchema = z.object({
  OPENCTI_URL: httpUrl('the URL of the OpenCTI platform'),
  OPENCTI_TOKEN: required('an OpenCTI API token'),
});

export const connectorSchema = z.object({
  CONNECTOR_ID: required('a UUIDv4 identifying this connector').pipe(z.uuid('must be a UUID')),
  CONNECTOR_NAME: optionalText().transform((value) => value ?? 'VirusTotal LiveHunts'),
  // Informational for a stream connector (OpenCTI shows it): any value is accepted, an
  // unexpected one is warned about at start-up (see unexpectedScope).
  CONNECTOR_SCOPE: optionalText().transform((value) => value ?? 'yara'),
  CONNECTOR_LIVE_STREAM_ID: required('the id of the live stream created in OpenCTI'),
  CONNECTOR_LIVE_STREAM_LISTEN_DELETE: flag(true),
  CONNECTOR_LIVE_STREAM_NO_DEPENDENCIES: flag(true),
  CONNECTOR_LIVE_STREAM_WITH_INFERENCES: flag(false),
  CONNECTOR_LIVE_STREAM_START_TIMESTAMP: streamStart,
  CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE: recoverDate,
  CONNECTOR_CONFIDENCE_LEVEL: integer(80, 0, 100),
  CONNECTOR_MAX_IN_FLIGHT_EVENTS: integer(64, 1, 10_000),
  // Frames held while Temporal is slow or unreachable; beyond it the starter closes the stream
  // and resumes from its acknowledged position later, so memory stays bounded.
  CONNECTOR_MAX_BUFFERED_EVENTS: integer(10_000, 1, 1_000_000),
  // pycti's watchdog: reconnect when no frame with an id arrived for this long.
  CONNECTOR_LIVE_STREAM_WATCHDOG_SECONDS: integer(45, 1, 3_600),
});

export const virusTotalSchema = z.object({
  VIRUSTOTAL_LIVEHUNT_TOKEN: required('a VirusTotal API key with Livehunt access'),
  VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS: emailList,
  VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS: editorList,
  VIRUSTOTAL_LIVEHUNT_API_URL: optionalText()
    .transform((value) => (value ?? 'https://www.virustotal.com/api/v3').replace(/\/+$/, ''))
    .pipe(httpUrl('the VirusTotal API base URL')),
  VIRUSTOTAL_LIVEHUNT_UPDATE_MODE: optionalText()
    .transform((value) => (value ?? 'recreate').toLowerCase())
    .refine((value) => value === 'recreate' || value === 'patch', 'must be recreate or patch')
    .transform((value) => value as 'recreate' | 'patch'),
  VIRUSTOTAL_LIVEHUNT_ADOPT_EXISTING: flag(true),
  VIRUSTOTAL_LIVEHUNT_MAX_REQUESTS_PER_SECOND: positiveNumber(),
  // Every check reads each ruleset: under a minute it would spend the quota on reads.
  VIRUSTOTAL_LIVEHUNT_VERIFY_INTERVAL: duration('24h', 60_000, true),
  VIRUSTOTAL_LIVEHUNT_RULESET_LIMIT: integer(100, 1, 1_000_000),
  VIRUSTOTAL_LIVEHUNT_NEW_FILES_ONLY: flag(false),
});

export const temporalSchema = z.object({
  TEMPORAL_ADDRESS: optionalText(),
  TEMPORAL_NAMESPACE: optionalText().transform((value) => value ?? 'default'),
  TEMPORAL_TASK_QUEUE: optionalText().transform((value) => value ?? 'virustotal-livehunt'),
  TEMPORAL_CLI_PATH: optionalText(),
  TEMPORAL_DEV_SERVER_PORT: integer(7233, 0, 65_535),
  TEMPORAL_DEV_SERVER_UI_PORT: integer(8233, 0, 65_535),
  TEMPORAL_WORKER_MAX_CONCURRENT_ACTIVITIES: integer(100, 1, 10_000),
  // Idle indicator workflows kept in worker memory; the SDK's default (thousands, sized on the
  // heap limit) makes a worker holding 10,000 live rulesets grow past a gigabyte.
  TEMPORAL_WORKER_MAX_CACHED_WORKFLOWS: integer(100, 0, 100_000),
  CONNECTOR_DATA_DIR: optionalText().transform((value) => value ?? 'data'),
});

/**
 * How the connector reaches HTTP services (common/http.ts). The lowercase spellings
 * (https_proxy...) are read too, and win, as in curl and Python's requests (config/load.ts).
 */
export const networkSchema = z.object({
  HTTPS_PROXY: proxyUrl,
  HTTP_PROXY: proxyUrl,
  NO_PROXY: optionalText(),
  // pycti's setting: false accepts a self-signed OpenCTI certificate (warned about at start-up).
  OPENCTI_SSL_VERIFY: flag(true),
});

/** Scopes a user of this connector or of the Python one has reason to set (compared case-insensitively). */
const EXPECTED_SCOPES = new Set(['yara', 'virustotal', 'indicator']);

/** A warning for a CONNECTOR_SCOPE nobody would set on purpose, else undefined. */
export function unexpectedScope(scope: string): string | undefined {
  const entries = scope.split(',').map((entry) => entry.trim().toLowerCase()).filter((entry) => entry !== '');
  if (entries.length > 0 && entries.every((entry) => EXPECTED_SCOPES.has(entry))) return undefined;
  return `CONNECTOR_SCOPE is "${scope}"; this connector reads YARA indicators whatever the scope says (usually yara, Yara or Virustotal), which OpenCTI only displays`;
}

export const commonSchema = z.object({
  CONNECTOR_LOG_LEVEL: logLevel,
  // pycti's names: Prometheus metrics and the health endpoints, on a port of each process.
  CONNECTOR_EXPOSE_METRICS: flag(false),
  CONNECTOR_METRICS_PORT: integer(9095, 1, 65_535),
});
