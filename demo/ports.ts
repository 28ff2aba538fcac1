/**
 * The usual reason a demo cannot start is a port still held by an earlier demo (or by
 * `npm run emulators`, or a Temporal dev server). Checking all of them first gives one clear
 * message instead of a failure deep inside the connector's start-up.
 */
import net from 'node:net';

export interface PortUse {
  port: number;
  what: string;
  flag: string;
}

function isFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The ports among `uses` that are taken, each with the flag that moves it. */
export async function takenPorts(uses: PortUse[]): Promise<PortUse[]> {
  const free = await Promise.all(uses.map((use) => isFree(use.port)));
  return uses.filter((_, index) => !free[index]);
}
