/**
 * The connector's one log stream: one JSON object per line on stderr, in the shape pycti's
 * connectors write (`timestamp`, `level`, `name`, `message`, `attributes`), so a log pipeline
 * built for OpenCTI connectors parses this one unchanged. The Temporal SDK's own entries are
 * forwarded here too (see temporal/sdk-runtime.ts), under the same level filter.
 *
 * Callers pass facts as fields; secrets are never passed in, and the configured secret values
 * are also masked in the finished line, as a second line of defence (an error message quoting a
 * URL or a header, say). Control characters, NUL included, come out escaped by JSON.stringify.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

/**
 * What createLogger returns: a Logger that can also write an entry on behalf of another logger
 * (the Temporal SDK's). Code that only logs takes the plain Logger, which tests fake easily.
 */
export interface StructuredLogger extends Logger {
  /** One entry at a level chosen at run time; `at` when the event happened earlier than now. */
  log(level: LogLevel, message: string, fields?: Fields, at?: Date): void;
  /** The same logger with these fields on every entry (`role` and `component` extend the name). */
  child(fields: Fields): StructuredLogger;
  /** A logger under another name (the SDK's components), same filter and output. */
  named(name: string): StructuredLogger;
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  /** Logger name before `role` and `component` are appended. */
  name?: string;
  /** Defaults to stderr. */
  write?: (line: string) => void;
  /** Values masked wherever they appear in a line (tokens, API keys). */
  secrets?: readonly string[];
}

export const ROOT_LOGGER_NAME = 'virustotal-livehunt';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
/** Python's level names, which pycti writes. */
const LEVEL_NAME: Record<LogLevel, string> = { debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR' };
/** Fields that say which part of the connector speaks: they make the logger name, not attributes. */
const NAME_FIELDS = ['role', 'component'] as const;
/** Shorter values could match ordinary words; real tokens are far longer. */
const MIN_SECRET_LENGTH = 6;

/** Errors become their name and message (JSON.stringify would write `{}`); cycles and bigints are survived. */
function jsonReplacer(): (key: string, value: unknown) => unknown {
  const seen = new WeakSet<object>();
  return (_key, value) => {
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Error) {
      const cause = (value as { cause?: unknown }).cause;
      return { name: value.name, message: value.message, ...(cause instanceof Error ? { cause: cause.message } : {}) };
    }
    if (value !== null && typeof value === 'object') {
      if (seen.has(value)) return '[circular]';
      seen.add(value);
    }
    return value;
  };
}

function maskSecrets(secrets: readonly string[]): (line: string) => string {
  // Each secret as it would appear inside a JSON string and as it would appear in a URL.
  const forms = [
    ...new Set(
      secrets.filter((s) => s.length >= MIN_SECRET_LENGTH).flatMap((s) => [JSON.stringify(s).slice(1, -1), encodeURIComponent(s)]),
    ),
  ];
  if (forms.length === 0) return (line) => line;
  return (line) => forms.reduce((masked, form) => masked.split(form).join('***'), line);
}

interface Sink {
  threshold: number;
  write: (line: string) => void;
  mask: (line: string) => string;
}

function build(sink: Sink, name: string, base: Fields): StructuredLogger {
  const nameParts = NAME_FIELDS.map((field) => base[field]).filter((part): part is string => typeof part === 'string' && part !== '');
  const fullName = [name, ...nameParts].join('.');
  const baseAttributes = Object.fromEntries(Object.entries(base).filter(([key]) => !(NAME_FIELDS as readonly string[]).includes(key)));

  const log = (level: LogLevel, message: string, fields?: Fields, at?: Date) => {
    if (ORDER[level] < sink.threshold) return;
    const entry = {
      timestamp: (at ?? new Date()).toISOString(),
      level: LEVEL_NAME[level],
      name: fullName,
      message: String(message),
      attributes: { ...baseAttributes, ...fields },
    };
    let line: string;
    try {
      line = JSON.stringify(entry, jsonReplacer());
    } catch (error) {
      line = JSON.stringify({ ...entry, attributes: { unserializable: (error as Error).message } });
    }
    sink.write(`${sink.mask(line)}\n`);
  };
  return {
    debug: (message, fields) => log('debug', message, fields),
    info: (message, fields) => log('info', message, fields),
    warn: (message, fields) => log('warn', message, fields),
    error: (message, fields) => log('error', message, fields),
    log,
    child: (fields) => build(sink, name, { ...base, ...fields }),
    named: (other) => build(sink, other, {}),
    enabled: (level) => ORDER[level] >= sink.threshold,
  };
}

export function createLogger(level: LogLevel, base: Fields = {}, options: LoggerOptions = {}): StructuredLogger {
  const sink: Sink = {
    threshold: ORDER[level],
    write: options.write ?? ((line) => process.stderr.write(line)),
    mask: maskSecrets(options.secrets ?? []),
  };
  return build(sink, options.name ?? ROOT_LOGGER_NAME, base);
}
