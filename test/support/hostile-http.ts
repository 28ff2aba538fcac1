/**
 * Small HTTP servers that misbehave on purpose (redirects, endless answers) and a sampler of the
 * test process's memory, for the tests that show the connector's reads and requests are bounded.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

export async function listen(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<TestServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Writes `totalBytes` of `fill` without ever holding more than one chunk: each chunk is written
 * when the socket has drained the previous one. Resolves with the bytes actually written, which
 * is less than asked when the client hung up.
 */
export function writeLazily(response: ServerResponse, totalBytes: number, fill = 'x', chunkBytes = 64 * 1024): Promise<number> {
  const chunk = Buffer.alloc(chunkBytes, fill);
  let written = 0;
  return new Promise((resolve) => {
    const finish = () => resolve(written);
    response.once('close', finish);
    const pump = () => {
      while (written < totalBytes && !response.destroyed) {
        const size = Math.min(chunkBytes, totalBytes - written);
        written += size;
        if (!response.write(size === chunkBytes ? chunk : chunk.subarray(0, size))) {
          response.once('drain', pump);
          return;
        }
      }
      if (!response.destroyed) response.end();
    };
    pump();
  });
}

/** Samples this process's resident memory every few milliseconds; peak() is the highest seen. */
export function sampleRss(everyMs = 20): { peak(): number; stop(): number } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, everyMs);
  return {
    peak: () => peak,
    stop: () => {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      return peak;
    },
  };
}

export const MiB = 1024 * 1024;
