/**
 * Loads the configuration from the environment and an optional config.yml (the environment
 * wins), validates the sections a role needs, and reports every problem at once.
 */
import type { LogLevel } from '../common/logger';
import type { Editor } from '../domain/ruleset';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { ProxySettings } from '../common/http';
import { commonSchema, connectorSchema, networkSchema, openCtiSchema, temporalSchema, unexpectedScope, virusTotalSchema } from './schema';
import { unknownFileKeys } from './file-keys';

export type RawSettings = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/** `opencti: {url: x}` becomes `OPENCTI_URL=x`; lists become JSON so they parse like the env form. */
export function flattenYaml(document: unknown, prefix = ''): RawSettings {
  const settings: RawSettings = {};
  if (document === null || typeof document !== 'object' || Array.isArray(document)) return settings;
  for (const [key, value] of Object.entries(document as Record<string, unknown>)) {
    const name = `${prefix}${prefix ? '_' : ''}${key}`.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) settings[name] = JSON.stringify(value);
    else if (typeof value === 'object') Object.assign(settings, flattenYaml(value, name));
    else settings[name] = String(value);
  }
  return settings;
}

export interface ConfigSources {
  env: RawSettings;
  /** Defaults to CONNECTOR_CONFIG_FILE from env, else ./config.yml when it exists; false for none. */
  configFile?: string | false;
}

export function gatherSettings({ env, configFile }: ConfigSources): RawSettings {
  if (configFile === false) return { ...env };
  const file = configFile ?? env.CONNECTOR_CONFIG_FILE ?? path.resolve('config.yml');
  let fromFile: RawSettings = {};
  if (existsSync(file)) {
    let document: unknown;
    try {
      document = parseYaml(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError([`${file}: cannot be read as YAML (${(error as Error).message.split('\n')[0]})`]);
    }
    // A misspelt key would otherwise be ignored silently and its default used instead.
    const unknown = unknownFileKeys(document);
    if (unknown.length > 0) throw new ConfigError(unknown.map((problem) => `${file}: ${problem}`));
    fromFile = flattenYaml(document);
  } else if (configFile ?? env.CONNECTOR_CONFIG_FILE) {
    throw new ConfigError([`CONNECTOR_CONFIG_FILE: ${file} does not exist`]);
  }
  const merged: RawSettings = { ...fromFile };
  for (const [name, value] of Object.entries(env)) if (value !== undefined) merged[name] = value;
  return merged;
}

type Schema = z.ZodObject<z.ZodRawShape>;

function validate<S extends Schema>(schema: S, settings: RawSettings, problems: string[]): z.output<S> | undefined {
  const picked: RawSettings = {};
  for (const key of Object.keys(schema.shape)) picked[key] = settings[key];
  const result = schema.safeParse(picked);
  if (result.success) return result.data;
  // Messages name the variable and the reason; values are never echoed, as some are secrets.
  for (const issue of result.error.issues) problems.push(`${String(issue.path[0] ?? '?')}: ${issue.message}`);
  return undefined;
}

export type OpenCtiSettings = {
  url: string;
  token: string;
  /** OPENCTI_SSL_VERIFY: false accepts any certificate from OpenCTI. Default true. */
  sslVerify?: boolean;
};
/** How requests leave the process (common/http.ts). */
export type NetworkSettings = { proxy: ProxySettings };
export type ConnectorSettings = {
  id: string;
  name: string;
  scope: string;
  liveStreamId: string;
  listenDelete: boolean;
  noDependencies: boolean;
  withInferences: boolean;
  startTimestamp?: string;
  recoverIsoDate?: string;
  confidenceLevel: number;
  maxInFlightEvents: number;
  /** Frames buffered before the stream is closed and resumed later (back-pressure). */
  maxBufferedEvents: number;
  liveStreamWatchdogSeconds: number;
};
export type VirusTotalSettings = {
  apiKey: string;
  apiUrl: string;
  notificationEmails: string[];
  editors: Editor[];
  updateMode: 'recreate' | 'patch';
  adoptExisting: boolean;
  maxRequestsPerSecond?: number;
  verifyIntervalMs: number;
  rulesetLimit: number;
  /** File rulesets notify only on files VirusTotal sees for the first time. */
  newFilesOnly: boolean;
};
export type TemporalSettings = {
  /** Unset means: run an embedded dev server (only `npm start` and the demo do that). */
  address?: string;
  namespace: string;
  taskQueue: string;
  cliPath?: string;
  /** PATH, used to find a `temporal` binary. */
  searchPath: string;
  devServerPort: number;
  devServerUiPort: number;
  maxConcurrentActivities: number;
  maxCachedWorkflows: number;
  dataDir: string;
  /** The TEMPORAL_* variables, handed to the SDK's environment configuration loader. */
  clientEnv: Record<string, string>;
};
export type { LogLevel };
/** The HTTP port serving /metrics, /healthz and /readyz; none unless exposed. */
export type MetricsSettings = { expose: boolean; port: number };

export interface ConnectorConfig {
  logLevel: LogLevel;
  network: NetworkSettings;
  /** Accepted but doubtful settings, for the entry point to log once at start-up. */
  warnings: string[];
  metrics: MetricsSettings;
  temporal: TemporalSettings;
  opencti: OpenCtiSettings;
  connector: ConnectorSettings;
  virusTotal: VirusTotalSettings;
}

export type Role = 'worker' | 'starter' | 'all';
export type WorkerConfig = Pick<ConnectorConfig, 'logLevel' | 'metrics' | 'network' | 'warnings' | 'temporal' | 'virusTotal'>;
export type StarterConfig = Pick<ConnectorConfig, 'logLevel' | 'metrics' | 'network' | 'warnings' | 'temporal' | 'opencti' | 'connector'>;

/** The lowercase spelling wins when set, as in curl, undici and Python's requests. */
function proxyVariables(settings: RawSettings): RawSettings {
  const pick = (lower: string, upper: string) => (settings[lower]?.trim() ? settings[lower] : settings[upper]);
  return {
    ...settings,
    HTTPS_PROXY: pick('https_proxy', 'HTTPS_PROXY'),
    HTTP_PROXY: pick('http_proxy', 'HTTP_PROXY'),
    NO_PROXY: pick('no_proxy', 'NO_PROXY'),
  };
}

export function loadConfig(role: 'worker', sources: ConfigSources): WorkerConfig;
export function loadConfig(role: 'starter', sources: ConfigSources): StarterConfig;
export function loadConfig(role: 'all', sources: ConfigSources): ConnectorConfig;
export function loadConfig(role: Role, sources: ConfigSources): Partial<ConnectorConfig> {
  const settings = proxyVariables(gatherSettings(sources));
  const problems: string[] = [];
  const common = validate(commonSchema, settings, problems);
  const network = validate(networkSchema, settings, problems);
  const temporal = validate(temporalSchema, settings, problems);
  const opencti = role !== 'worker' ? validate(openCtiSchema, settings, problems) : undefined;
  const connector = role !== 'worker' ? validate(connectorSchema, settings, problems) : undefined;
  const virusTotal = role !== 'starter' ? validate(virusTotalSchema, settings, problems) : undefined;
  if (problems.length > 0) throw new ConfigError(problems);

  const warnings: string[] = [];
  const config: Partial<ConnectorConfig> = {
    logLevel: common!.CONNECTOR_LOG_LEVEL,
    network: { proxy: { httpsProxy: network!.HTTPS_PROXY, httpProxy: network!.HTTP_PROXY, noProxy: network!.NO_PROXY } },
    warnings,
    metrics: { expose: common!.CONNECTOR_EXPOSE_METRICS, port: common!.CONNECTOR_METRICS_PORT },
    temporal: {
      address: temporal!.TEMPORAL_ADDRESS,
      namespace: temporal!.TEMPORAL_NAMESPACE,
      taskQueue: temporal!.TEMPORAL_TASK_QUEUE,
      cliPath: temporal!.TEMPORAL_CLI_PATH,
      searchPath: settings.PATH ?? '',
      devServerPort: temporal!.TEMPORAL_DEV_SERVER_PORT,
      devServerUiPort: temporal!.TEMPORAL_DEV_SERVER_UI_PORT,
      maxConcurrentActivities: temporal!.TEMPORAL_WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxCachedWorkflows: temporal!.TEMPORAL_WORKER_MAX_CACHED_WORKFLOWS,
      dataDir: path.resolve(temporal!.CONNECTOR_DATA_DIR),
      clientEnv: Object.fromEntries(
        Object.entries(settings).filter(
          (entry): entry is [string, string] => entry[0].startsWith('TEMPORAL_') && entry[1] !== undefined && entry[1] !== '',
        ),
      ),
    },
  };
  if (opencti) {
    config.opencti = { url: opencti.OPENCTI_URL.replace(/\/+$/, ''), token: opencti.OPENCTI_TOKEN, sslVerify: network!.OPENCTI_SSL_VERIFY };
    if (!network!.OPENCTI_SSL_VERIFY)
      warnings.push(
        "OPENCTI_SSL_VERIFY is false: OpenCTI's TLS certificate is not checked, so anyone between here and OpenCTI can read the token; prefer NODE_EXTRA_CA_CERTS with your CA",
      );
  }
  if (connector) {
    const scopeWarning = unexpectedScope(connector.CONNECTOR_SCOPE);
    if (scopeWarning) warnings.push(scopeWarning);
    config.connector = {
      id: connector.CONNECTOR_ID,
      name: connector.CONNECTOR_NAME,
      scope: connector.CONNECTOR_SCOPE,
      liveStreamId: connector.CONNECTOR_LIVE_STREAM_ID,
      listenDelete: connector.CONNECTOR_LIVE_STREAM_LISTEN_DELETE,
      noDependencies: connector.CONNECTOR_LIVE_STREAM_NO_DEPENDENCIES,
      withInferences: connector.CONNECTOR_LIVE_STREAM_WITH_INFERENCES,
      startTimestamp: connector.CONNECTOR_LIVE_STREAM_START_TIMESTAMP,
      recoverIsoDate: connector.CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE,
      confidenceLevel: connector.CONNECTOR_CONFIDENCE_LEVEL,
      maxInFlightEvents: connector.CONNECTOR_MAX_IN_FLIGHT_EVENTS,
      maxBufferedEvents: connector.CONNECTOR_MAX_BUFFERED_EVENTS,
      liveStreamWatchdogSeconds: connector.CONNECTOR_LIVE_STREAM_WATCHDOG_SECONDS,
    };
  }
  if (virusTotal) {
    config.virusTotal = {
      apiKey: virusTotal.VIRUSTOTAL_LIVEHUNT_TOKEN,
      apiUrl: virusTotal.VIRUSTOTAL_LIVEHUNT_API_URL,
      notificationEmails: virusTotal.VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS,
      editors: virusTotal.VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS,
      updateMode: virusTotal.VIRUSTOTAL_LIVEHUNT_UPDATE_MODE,
      adoptExisting: virusTotal.VIRUSTOTAL_LIVEHUNT_ADOPT_EXISTING,
      maxRequestsPerSecond: virusTotal.VIRUSTOTAL_LIVEHUNT_MAX_REQUESTS_PER_SECOND,
      verifyIntervalMs: virusTotal.VIRUSTOTAL_LIVEHUNT_VERIFY_INTERVAL,
      rulesetLimit: virusTotal.VIRUSTOTAL_LIVEHUNT_RULESET_LIMIT,
      newFilesOnly: virusTotal.VIRUSTOTAL_LIVEHUNT_NEW_FILES_ONLY,
    };
  }
  return config;
}
