/**
 * Wires the pieces into one node:http server: `/stream*` (SSE), `/graphql`, and the
 * `/_emulator/*` control surface, and exposes the in-process facade.
 */
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OpenCtiEmulator, OpenCtiEmulatorOptions } from './api';
import { createCollection } from './collection';
import { ConnectorRegistry } from './connectors';
import { handleControl } from './control';
import type { StreamRecord } from './envelope';
import { EventLog } from './event-log';
import { GraphqlEndpoint } from './graphql';
import { readBody, sendEmptyStatus, sendJson } from './http';
import { EMULATED_USER_ID } from './indicators';
import { KnowledgeBase, UnknownObjectError } from './knowledge';
import { StreamHub } from './stream';

export const DEFAULT_TOKEN = 'opencti-test-token';
export const DEFAULT_ADMIN_TOKEN = 'opencti-admin-token';
/**
 * What the connector's service account may do on the platform: register and ping
 * (CONNECTORAPI), read knowledge and streams. Not MODULES_MODMANAGE, so it cannot delete
 * connectors; the administrator's token (BYPASS) can.
 */
const CONNECTOR_CAPABILITIES: ReadonlySet<string> = new Set(['CONNECTORAPI', 'KNOWLEDGE', 'TAXIIAPI']);
const ADMIN_CAPABILITIES: ReadonlySet<string> = new Set(['BYPASS']);
export const DEFAULT_STREAM_ID = 'live-yara';
export const DEFAULT_HEARTBEAT_MS = 5000;

export async function startOpenCtiEmulator(opts: OpenCtiEmulatorOptions = {}): Promise<OpenCtiEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const streamId = opts.streamId ?? DEFAULT_STREAM_ID;
  let token = opts.token ?? DEFAULT_TOKEN;
  const adminToken = opts.adminToken ?? DEFAULT_ADMIN_TOKEN;
  const capabilitiesOf = (candidate: string | undefined) => {
    if (candidate === undefined) return undefined;
    if (candidate === token) return CONNECTOR_CAPABILITIES;
    return candidate === adminToken ? ADMIN_CAPABILITIES : undefined;
  };
  const isValidToken = (candidate: string | undefined) => capabilitiesOf(candidate) !== undefined;

  const log = new EventLog<StreamRecord>();
  const collection = createCollection(streamId, opts.filterDetection ?? false);
  const knowledge = new KnowledgeBase(log, collection);
  const connectorRegistry = new ConnectorRegistry();
  const hub = new StreamHub({
    collection,
    log,
    knowledge,
    isValidToken,
    heartbeatMs: opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    dependencies: opts.dependencies ?? true,
  });
  const graphql = new GraphqlEndpoint({ capabilitiesOf, connectors: connectorRegistry, collection, userId: EMULATED_USER_ID });

  // Assigned once listening; the facade is created first because the control routes use it.
  let url = '';
  const emulator: OpenCtiEmulator = {
    get url() {
      return url;
    },
    streamId,
    get token() {
      return token;
    },
    adminToken,
    createIndicator: (spec) => knowledge.createIndicator(spec),
    updateIndicator: (internalId, change) => knowledge.updateIndicator(internalId, change),
    deleteIndicator: (internalId) => knowledge.deleteIndicator(internalId),
    mergeIndicators: (target, sources) => knowledge.mergeIndicators(target, sources),
    createOther: (type, name) => knowledge.createOther(type, name),
    appendRaw: (event, data) => knowledge.appendRaw(event, data),
    indicator: (internalId) => knowledge.get(internalId),
    lastEventId: () => log.last()?.id,
    dropConnections: () => {
      hub.dropAll();
    },
    setStreamLive: (live) => {
      collection.live = live;
      // A stopped collection ends open streams (EOF, no error frame); reconnects get 410.
      if (!live) hub.dropAll();
    },
    setHeartbeats: (on) => {
      hub.heartbeatsEnabled = on;
    },
    setToken: (next) => {
      token = next;
    },
    connections: () => hub.count(),
    streamRequests: () => hub.requestLog(),
    connectorState: (connectorId) => {
      const record = connectorRegistry.get(connectorId);
      return record === undefined ? undefined : record.state;
    },
    connectors: () =>
      connectorRegistry.all().map((r) => ({
        id: r.id,
        name: r.name,
        type: r.type,
        scope: [...r.scope],
        ...(r.lastSeen !== undefined ? { lastSeen: r.lastSeen } : {}),
        pings: r.pings,
        ...(r.info ? { info: { ...r.info } } : {}),
      })),
    resetConnectorState: (connectorId) => {
      if (!connectorRegistry.reset(connectorId)) throw new UnknownObjectError(`no connector with id ${connectorId}`);
    },
    close: () => close(),
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestUrl = new URL(req.url ?? '/', 'http://emulator');
    const path = requestUrl.pathname;
    if (path === '/stream' || path.startsWith('/stream/')) {
      const delayMatch = /^\/stream\/connection\/([^/]+)\/?$/.exec(path);
      if (delayMatch?.[1] !== undefined && req.method === 'POST') {
        let body: unknown;
        try {
          body = JSON.parse((await readBody(req)) || '{}');
        } catch {
          return sendEmptyStatus(res, 400);
        }
        return hub.setConnectionDelay(req, res, decodeURIComponent(delayMatch[1]), body);
      }
      return hub.handle(req, res, requestUrl);
    }
    if (path === '/graphql') return graphql.handle(req, res);
    if (path === '/_emulator' || path.startsWith('/_emulator/')) return handleControl(req, res, requestUrl, emulator);
    sendEmptyStatus(res, 404);
  };

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });
  // SSE responses live for hours; never let the server time them out.
  server.requestTimeout = 0;
  server.timeout = 0;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  url = `http://${urlHost}:${address.port}`;

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      hub.close();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  }

  return emulator;
}
