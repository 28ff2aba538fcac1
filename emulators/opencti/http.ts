/** Small node:http helpers shared by the stream, GraphQL and control handlers. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Large enough for a bulk of tens of thousands of indicator specs. */
const MAX_BODY_BYTES = 256 * 1024 * 1024;

export class BodyTooLargeError extends Error {}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLargeError('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** The platform's `res.statusMessage = reason; res.status(code).end()`: empty body, reason phrase only. */
export function sendEmptyStatus(res: ServerResponse, status: number, reason?: string): void {
  res.statusCode = status;
  if (reason) res.statusMessage = reason;
  res.end();
}

/** Token of an `Authorization: Bearer <token>` header (scheme is case-insensitive per RFC 7235). */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const m = /^bearer\s+(.+)$/i.exec(header.trim());
  return m?.[1]?.trim();
}

/** Header value as a single string (Node joins repeated custom headers with ", "). */
export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
