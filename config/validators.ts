/**
 * The validators a setting's value goes through (config/settings.ts picks one per variable).
 * Environment variables are strings; config.yml values are turned into the same strings first
 * (config/load.ts), so each validator parses text.
 */
import { z } from 'zod';
import { parseBoolean, parseDurationMs, parseEditor, parseList } from './values';

export const PLACEHOLDER = 'ChangeMe';

/** `ChangeMe` however it is spelled (changeme, CHANGEME): never a real secret or id. */
export const isPlaceholder = (value: string) => value.trim().toLowerCase() === PLACEHOLDER.toLowerCase();

export const text = () => z.string().trim();

export const required = (what: string) =>
  text()
    .min(1, `is required (${what})`)
    .refine((value) => !isPlaceholder(value), `is still the placeholder "${PLACEHOLDER}" (${what})`);

export const optionalText = () =>
  text()
    .optional()
    .transform((value) => (value === '' ? undefined : value));

export const flag = (fallback: boolean) =>
  optionalText().transform((value, ctx) => {
    if (value === undefined) return fallback;
    const parsed = parseBoolean(value);
    if (parsed === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be true or false' });
      return z.NEVER;
    }
    return parsed;
  });

export const integer = (fallback: number, min: number, max: number) =>
  optionalText().transform((value, ctx) => {
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      ctx.addIssue({ code: 'custom', message: `must be an integer from ${min} to ${max}` });
      return z.NEVER;
    }
    return parsed;
  });

export const positiveNumber = () =>
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
export const duration = (fallback: string, minMs: number, zeroDisables: boolean) =>
  optionalText().transform((value, ctx) => {
    const parsed = parseDurationMs(value ?? fallback);
    if (parsed === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration such as 0, 90s, 15m, 24h or 7d' });
      return z.NEVER;
    }
    if (parsed === 0 && zeroDisables) return 0;
    if (parsed < minMs) {
      ctx.addIssue({
        code: 'custom',
        message: `must be at least ${minMs / 60_000} minute${minMs === 60_000 ? '' : 's'}${zeroDisables ? ', or 0 to disable' : ''}`,
      });
      return z.NEVER;
    }
    return parsed;
  });

/**
 * An http(s) URL without credentials in it: a `user:password@` would travel in logs, in activity
 * failures the Web UI shows, and to any host a redirect named. Messages never repeat the value.
 */
export const httpUrl = (what: string) =>
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
      ctx.addIssue({
        code: 'custom',
        message: 'must not contain a user name or password (user:password@host); tokens go in their own variables (value not shown)',
      });
    }
  });

/**
 * A proxy URL (HTTPS_PROXY, HTTP_PROXY): `http://host:port`, `https://...`, or `host:port` as
 * Python's requests accepts it. Credentials for the proxy itself are allowed and never shown.
 */
export const proxyUrl = optionalText().transform((value, ctx) => {
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

export const emailList = optionalText().transform((value, ctx) => {
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
    ctx.addIssue({
      code: 'custom',
      message: `contains ${invalid.length === 1 ? 'an entry that is' : 'entries that are'} not an e-mail address: ${invalid.map((e) => JSON.stringify(e)).join(', ')}`,
    });
    return z.NEVER;
  }
  return [...new Set(list)];
});

export const editorList = optionalText().transform((value, ctx) => {
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

export const logLevel = optionalText().transform((value, ctx) => {
  const level = (value ?? 'info').toLowerCase();
  const normalised = level === 'warning' ? 'warn' : level;
  if (!['debug', 'info', 'warn', 'error'].includes(normalised)) {
    ctx.addIssue({ code: 'custom', message: 'must be one of debug, info, warn, error' });
    return z.NEVER;
  }
  return normalised as 'debug' | 'info' | 'warn' | 'error';
});

export const streamStart = optionalText().refine(
  (value) => value === undefined || /^\d+(-\d+)?$/.test(value),
  'must be an epoch timestamp in milliseconds (or a stream id <ms>-<seq>)',
);

export const recoverDate = optionalText().refine(
  (value) => value === undefined || !Number.isNaN(Date.parse(value)),
  'must be an ISO-8601 date such as 2025-03-04T14:53:20Z',
);
