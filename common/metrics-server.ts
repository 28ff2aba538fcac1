/**
 * The one HTTP port of a connector process (CONNECTOR_METRICS_PORT), for Prometheus and probes:
 *
 * - `/metrics`: the connector's own series (prom-client) followed by the Temporal SDK core's,
 *   read from the core's exporter on its loopback port, so one scrape target covers a process;
 * - `/healthz`: the process answers (liveness: restart it when this fails);
 * - `/readyz`: every readiness check passes (the worker polls Temporal; the starter is connected
 *   to the stream and to Temporal); 503 with the failing checks' reasons otherwise.
 */
import { createServer, type Server } from 'node:http';
import * as net from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger';

/** Resolves to undefined when ready, else to the reason it is not. */
export type ReadinessCheck = () => Promise<string | undefined> | string | undefined;

const CHECK_TIMEOUT_MS = 2_000;

export interface MetricsServerOptions {
  port: number;
  /** All interfaces by default: a container's port is scraped from outside it. */
  host?: string;
  registry: Registry;
  /** `/metrics` URL of the SDK core's Prometheus exporter, appended to ours. */
  upstream?: string;
  log: Logger;
}

export interface MetricsServer {
  readonly port: number;
  /** Adds a named check to /readyz (a role registers its own once it exists). */
  readiness(name: string, check: ReadinessCheck): void;
  close(): Promise<void>;
}

function withTimeout(check: ReadinessCheck): Promise<string | undefined> {
  return Promise.race([
    Promise.resolve()
      .then(check)
      .catch((error: unknown) => (error as Error).message || 'check failed'),
    new Promise<string>((resolve) => setTimeout(() => resolve(`no answer within ${CHECK_TIMEOUT_MS} ms`), CHECK_TIMEOUT_MS).unref()),
  ]);
}

async function upstreamText(url: string): Promise<string> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
    if (!response.ok) return `# Temporal SDK metrics unavailable: ${response.status}\n`;
    return await response.text();
  } catch (error) {
    return `# Temporal SDK metrics unavailable: ${(error as Error).message}\n`;
  }
}

export async function startMetricsServer({
  port,
  host = '0.0.0.0',
  registry,
  upstream,
  log,
}: MetricsServerOptions): Promise<MetricsServer> {
  const checks = new Map<string, ReadinessCheck>();
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const answer = (status: number, type: string, body: string) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return answer(405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return answer(200, 'application/json', '{"status":"ok"}\n');
    if (path === '/readyz') {
      void Promise.all([...checks].map(async ([name, check]) => [name, await withTimeout(check)] as const)).then((results) => {
        const failing = Object.fromEntries(results.filter(([, reason]) => reason !== undefined));
        const ready = checks.size > 0 && Object.keys(failing).length === 0;
        answer(
          ready ? 200 : 503,
          'application/json',
          `${JSON.stringify({ status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results.map(([name, reason]) => [name, reason ?? 'ok'])) })}\n`,
        );
      });
      return;
    }
    if (path === '/metrics') {
      void Promise.all([registry.metrics(), upstream ? upstreamText(upstream) : Promise.resolve('')]).then(
        ([ours, sdk]) => answer(200, registry.contentType, `${ours}\n${sdk}`),
        (error: unknown) => answer(500, 'text/plain', `${(error as Error).message}\n`),
      );
      return;
    }
    answer(404, 'text/plain', 'not found: try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`CONNECTOR_METRICS_PORT ${port} is already in use (worker and starter on one host need two ports)`)
          : error,
      );
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const bound = (server.address() as net.AddressInfo).port;
  log.info('metrics and health endpoints listening', { port: bound, paths: ['/metrics', '/healthz', '/readyz'] });
  return {
    port: bound,
    readiness: (name, check) => void checks.set(name, check),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection must not hold the process open at shutdown.
        server.closeAllConnections();
      }),
  };
}

/** A loopback port free right now, for the SDK core's exporter (which cannot report the one it took). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
