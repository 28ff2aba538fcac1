/**
 * A small structured logger: one JSON line per entry on stderr, level-filtered.
 * Callers pass facts as fields; secrets are never passed in.
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

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(level: LogLevel, base: Fields = {}, write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const emit = (entryLevel: LogLevel, message: string, fields?: Fields) => {
    if (ORDER[entryLevel] < ORDER[level]) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: entryLevel, msg: message, ...base, ...fields })}\n`);
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}
