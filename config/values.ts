/**
 * Parsers for the textual shapes a configuration value can take. Environment variables are
 * strings; config.yml values arrive already typed but are normalised to the same strings first,
 * so every variable has exactly one parsing path.
 */

import type { Editor } from '../domain/ruleset';

const TRUE_WORDS = new Set(['true', 'yes', '1', 'on']);
const FALSE_WORDS = new Set(['false', 'no', '0', 'off']);

export function parseBoolean(raw: string): boolean | undefined {
  const word = raw.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}

/**
 * A list given either as JSON (`["a", "b"]`, the Python connector's documented form), as a Python-style literal with
 * single quotes (what users of the Python connector wrote), or as a comma-separated string.
 */
export function parseList(raw: string): string[] | { error: string } {
  const text = raw.trim();
  if (text === '') return [];
  if (text.startsWith('[')) {
    const candidates = [text, text.replace(/'/g, '"')];
    for (const candidate of candidates) {
      try {
        const parsed: unknown = JSON.parse(candidate);
        if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) {
          return parsed.map((item: string) => item.trim()).filter((item) => item !== '');
        }
        return { error: 'must be a list of strings' };
      } catch {
        // try the next spelling
      }
    }
    return { error: 'looks like a list but is not valid JSON (expected e.g. ["a", "b"])' };
  }
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** `group:NAME` is a VirusTotal group; `user:NAME` or a plain name is a user (the Python connector's form). */
export function parseEditor(entry: string): Editor {
  const match = /^(user|group):(.+)$/i.exec(entry);
  if (match) return { type: match[1]!.toLowerCase() as Editor['type'], id: match[2]!.trim() };
  return { type: 'user', id: entry };
}

const DURATION_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** `0`, `500ms`, `30s`, `15m`, `24h`, `7d`, or combinations like `1h30m`. Bare numbers are seconds. */
export function parseDurationMs(raw: string): number | undefined {
  const text = raw.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = part.exec(text); match; match = part.exec(text)) {
    total += Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
    consumed = part.lastIndex;
  }
  return consumed === text.length && consumed > 0 ? Math.round(total) : undefined;
}
