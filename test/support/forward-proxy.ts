/**
 * A small forward proxy, like a corporate one: plain HTTP requests in absolute form and CONNECT
 * tunnels, optionally behind Basic proxy authentication. It records what passes through it, so
 * tests can tell which connections went through and which did not.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface ProxiedRequest {
  kind: 'connect' | 'forward';
  /** host:port reached through the proxy. */
  target: string;
  proxyAuthorization?: string;
}

export interface ForwardProxy {
  url: string;
  port: number;
  seen: ProxiedRequest[];
  /** Targets seen (host:port), deduplicated. */
  targets(): string[];
  close(): Promise<void>;
}

export async function startForwardProxy(options: { requireAuth?: string } = {}): Promise<ForwardProxy> {
  const seen: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const authorized = (request: IncomingMessage) =>
    !options.requireAuth || request.headers['proxy-authorization'] === `Basic ${Buffer.from(options.requireAuth).toString('base64')}`;

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/');
    seen.push({ kind: 'forward', target: url.host, proxyAuthorization: request.headers['proxy-authorization'] as string | undefined });
    if (!authorized(request)) {
      response.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"' });
      response.end();
      return;
    }
    const headers = { ...request.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = httpRequest(
      { host: url.hostname, port: url.port || 80, method: request.method, path: `${url.pathname}${url.search}`, headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });

  server.on('connect', (request: IncomingMessage, client: Socket, head: Buffer) => {
    const target = request.url ?? '';
    seen.push({ kind: 'connect', target, proxyAuthorization: request.headers['proxy-authorization'] as string | undefined });
    if (!authorized(request)) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm="test"\r\n\r\n');
      return;
    }
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    const upstream = connect(port, host.replace(/^\[|\]$/g, ''), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    sockets.add(client);
    const closeBoth = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', closeBoth);
    client.on('error', closeBoth);
    upstream.on('close', closeBoth);
    client.on('close', closeBoth);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    targets: () => [...new Set(seen.map((entry) => entry.target))],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
