/**
 * The one place that decides how the connector reaches HTTP services (VirusTotal, the OpenCTI
 * API and its live stream): through the configured proxy or not, and with which TLS trust.
 *
 * It uses the npm `undici` package's own `fetch` with its own dispatcher rather than Node's
 * global `fetch`: Node's built-in undici is a different copy (6.x in Node 20, 7.x in Node 24),
 * and handing one copy's dispatcher to the other copy's fetch is not supported. Node's fetch
 * ignores HTTPS_PROXY and friends; the values are passed in from the configuration module
 * explicitly (never `undefined`, which would make undici read process.env itself).
 */
import { Agent, EnvHttpProxyAgent, fetch as undiciFetch, type Dispatcher } from 'undici';

export interface ProxySettings {
  /** Proxy for http:// targets (HTTP_PROXY). */
  httpProxy?: string;
  /** Proxy for https:// targets (HTTPS_PROXY); falls back to httpProxy, as undici and requests do. */
  httpsProxy?: string;
  /** Hosts reached directly (NO_PROXY): comma-separated names, `.domain` suffixes, `host:port`, `*`. */
  noProxy?: string;
}

export interface HttpClientOptions {
  proxy?: ProxySettings;
  /** false accepts any server certificate (OPENCTI_SSL_VERIFY=false); the proxy's own is still checked. */
  verifyTls?: boolean;
}

/** The global fetch's signature, so callers and libraries (eventsource) need not know undici. */
export type FetchFunction = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface HttpClient {
  fetch: FetchFunction;
  /** True when some request may go through a proxy. */
  proxied: boolean;
  close(): Promise<void>;
}

export function usesProxy(proxy: ProxySettings | undefined): boolean {
  return Boolean(proxy?.httpProxy || proxy?.httpsProxy);
}

function dispatcherFor({ proxy, verifyTls = true }: HttpClientOptions): Dispatcher {
  const tls = verifyTls ? {} : { rejectUnauthorized: false };
  if (!usesProxy(proxy)) return new Agent({ connect: tls });
  return new EnvHttpProxyAgent({
    // '' rather than undefined: undefined would make undici fall back to process.env.
    httpProxy: proxy?.httpProxy ?? '',
    httpsProxy: proxy?.httpsProxy ?? '',
    noProxy: proxy?.noProxy ?? '',
    // Direct connections take `connect`; tunnelled ones take `requestTls` for the target.
    connect: tls,
    requestTls: tls,
  });
}

export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const dispatcher = dispatcherFor(options);
  const fetch: FetchFunction = (input, init) =>
    // The two copies' RequestInit/Response types differ only in nominal details.
    undiciFetch(input, { ...(init as object), dispatcher } as Parameters<typeof undiciFetch>[1]) as unknown as Promise<Response>;
  return { fetch, proxied: usesProxy(options.proxy), close: () => dispatcher.close() };
}

/** A 3xx answer: with `redirect: 'manual'` it reaches the caller instead of being followed. */
export function isRedirect(response: Response): boolean {
  return response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400);
}

export class BodyTooLargeError extends Error {
  constructor(
    readonly limitBytes: number,
    /** Content-Length when the server announced it; otherwise the bytes read when it was cut. */
    readonly seenBytes: number,
    readonly announced: boolean,
  ) {
    super(
      `answer larger than ${formatBytes(limitBytes)} (${announced ? 'announced' : 'read at least'} ${formatBytes(seenBytes)}); not read further`,
    );
    this.name = 'BodyTooLargeError';
  }
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`;
  if (bytes >= 1024) return `${Math.round((bytes / 1024) * 10) / 10} KiB`;
  return `${bytes} bytes`;
}

/**
 * Reads a body as text, never holding more than `maxBytes`: an announced Content-Length over it
 * is refused before reading, and a body without one is counted while it streams and the
 * connection cancelled as soon as it passes the limit.
 */
export async function readBodyBounded(response: Response, maxBytes: number): Promise<string> {
  const announced = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(announced) && announced > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new BodyTooLargeError(maxBytes, announced, true);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let total = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLargeError(maxBytes, total, false);
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

/** Discards a body we will not read, so the connection is released rather than left half-read. */
export async function discardBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

/** The proxy settings as they may be logged: origins only, never the proxy's credentials. */
export function describeProxy(proxy: ProxySettings | undefined): Record<string, string | undefined> {
  const origin = (value: string | undefined) => {
    if (!value) return undefined;
    try {
      return new URL(value).origin;
    } catch {
      return '(unparsable)';
    }
  };
  return { httpsProxy: origin(proxy?.httpsProxy), httpProxy: origin(proxy?.httpProxy), noProxy: proxy?.noProxy || undefined };
}

/** TLS verification failures: the fix is a CA to trust, not a retry. */
const UNTRUSTED_CERTIFICATE = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * What went wrong with a request that got no answer, in words an operator can act on: undici's
 * own message is "fetch failed", the reason is in its cause.
 */
export function describeFetchError(error: unknown, tlsHint = 'add its CA with NODE_EXTRA_CA_CERTS'): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return error.message;
  const chain: Array<Error & { code?: unknown }> = [];
  for (let at: unknown = error; at instanceof Error && chain.length < 5; at = (at as Error & { cause?: unknown }).cause) chain.push(at);
  const untrusted = chain.find((link) => typeof link.code === 'string' && UNTRUSTED_CERTIFICATE.has(link.code));
  if (untrusted) return `the server's TLS certificate is not trusted (${untrusted.message}; ${String(untrusted.code)}): ${tlsHint}`;
  const parts: string[] = [];
  for (const link of chain) {
    const code = typeof link.code === 'string' && !link.message.includes(link.code) ? ` (${link.code})` : '';
    if (!parts.some((part) => part.startsWith(link.message))) parts.push(`${link.message}${code}`);
  }
  return parts.join(': ');
}
