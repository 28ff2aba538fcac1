/**
 * How requests leave the process: through a forward proxy (HTTP_PROXY/HTTPS_PROXY, NO_PROXY,
 * proxy credentials) for VirusTotal, the OpenCTI API and the live stream; and the trust given to
 * an OpenCTI served with a self-signed certificate (OPENCTI_SSL_VERIFY, NODE_EXTRA_CA_CERTS).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { VirusTotalClient } from '../../activities/virustotal-client';
import { createHttpClient } from '../../common/http';
import type { Logger } from '../../common/logger';
import { processEnvironment } from '../../config';
import type { ConnectorSettings } from '../../config/load';
import { startOpenCtiEmulator, type OpenCtiEmulator } from '../../emulators/opencti';
import { startVirusTotalEmulator, type VirusTotalEmulator } from '../../emulators/virustotal';
import { LiveStream } from '../../starter/live-stream';
import { OpenCtiApi } from '../../starter/opencti-api';
import { startForwardProxy, type ForwardProxy } from '../support/forward-proxy';
import { waitFor } from '../support/processes';

const ROOT = path.resolve(__dirname, '../..');
const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silent,
};

let opencti: OpenCtiEmulator;
let vt: VirusTotalEmulator;
let proxy: ForwardProxy;

before(async () => {
  [opencti, vt, proxy] = await Promise.all([startOpenCtiEmulator({ heartbeatMs: 200 }), startVirusTotalEmulator(), startForwardProxy()]);
  await startTlsFront();
});

after(async () => {
  await Promise.all([opencti.close(), vt.close(), proxy.close()]);
});

const hostOf = (url: string) => new URL(url).host;

function connector(): ConnectorSettings {
  return {
    id: randomUUID(),
    name: 'VirusTotal LiveHunts',
    scope: 'yara',
    liveStreamId: opencti.streamId,
    listenDelete: true,
    noDependencies: true,
    withInferences: false,
    confidenceLevel: 80,
    maxInFlightEvents: 64,
    maxBufferedEvents: 10_000,
    liveStreamWatchdogSeconds: 45,
  };
}

/** Opens the live stream with `fetch` until its `connected` frame arrives. */
async function streamConnects(url: string, fetch: ReturnType<typeof createHttpClient>['fetch']): Promise<void> {
  let connected = false;
  const stream = new LiveStream({
    url: `${url}/stream/${opencti.streamId}`,
    token: opencti.token,
    listenDelete: true,
    noDependencies: true,
    withInferences: false,
    position: () => ({}),
    onFrame: (event) => {
      if (event === 'connected') connected = true;
    },
    log: silent,
    fetch,
  });
  stream.start();
  try {
    await waitFor('the connected frame', () => connected, 10_000);
  } finally {
    stream.stop();
  }
}

test('VirusTotal, the OpenCTI API and the live stream all go through HTTP_PROXY', async () => {
  proxy.seen.length = 0;
  const http = createHttpClient({ proxy: { httpProxy: proxy.url } });
  const client = new VirusTotalClient({ apiUrl: vt.url, apiKey: 'vt-test-key', fetch: http.fetch });
  assert.equal(await client.currentUser(), 'connector');
  assert.deepEqual(proxy.targets(), [hostOf(vt.url)]);

  const api = new OpenCtiApi({ url: opencti.url, token: opencti.token }, connector(), http.fetch);
  await api.register();
  await streamConnects(opencti.url, http.fetch);
  assert.deepEqual(proxy.targets().sort(), [hostOf(vt.url), hostOf(opencti.url)].sort());
  await http.close();
});

test('NO_PROXY sends the listed hosts directly', async () => {
  proxy.seen.length = 0;
  const http = createHttpClient({ proxy: { httpProxy: proxy.url, httpsProxy: proxy.url, noProxy: 'example.org, 127.0.0.1' } });
  const client = new VirusTotalClient({ apiUrl: vt.url, apiKey: 'vt-test-key', fetch: http.fetch });
  assert.equal(await client.currentUser(), 'connector');
  await new OpenCtiApi({ url: opencti.url, token: opencti.token }, connector(), http.fetch).register();
  await streamConnects(opencti.url, http.fetch);
  assert.deepEqual(proxy.seen, []);
  await http.close();
});

test("a proxy's credentials in its URL are sent to the proxy, and a refusal (407) is an error", async () => {
  const guarded = await startForwardProxy({ requireAuth: 'alice:s3cret' });
  try {
    const withCredentials = createHttpClient({ proxy: { httpProxy: `http://alice:s3cret@127.0.0.1:${guarded.port}` } });
    assert.equal(
      await new VirusTotalClient({ apiUrl: vt.url, apiKey: 'vt-test-key', fetch: withCredentials.fetch }).currentUser(),
      'connector',
    );
    assert.equal(guarded.seen[0]?.proxyAuthorization, `Basic ${Buffer.from('alice:s3cret').toString('base64')}`);

    const without = createHttpClient({ proxy: { httpProxy: guarded.url } });
    await assert.rejects(
      new VirusTotalClient({ apiUrl: vt.url, apiKey: 'vt-test-key', fetch: without.fetch }).currentUser(),
      (error: Error) => {
        assert.match(error.message, /407/);
        return true;
      },
    );
    await Promise.all([withCredentials.close(), without.close()]);
  } finally {
    await guarded.close();
  }
});

// ---------------------------------------------------------------------------------------------
// OpenCTI over TLS with a self-signed certificate

let tlsDir: string;
let tlsFront: HttpsServer;
let tlsUrl: string;

async function startTlsFront(): Promise<void> {
  tlsDir = mkdtempSync(path.join(tmpdir(), 'opencti-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      path.join(tlsDir, 'key.pem'),
      '-out',
      path.join(tlsDir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  // TLS in front of the emulator, as a reverse proxy terminates it in front of OpenCTI.
  const upstream = new URL(opencti.url);
  tlsFront = createHttpsServer(
    { key: readFileSync(path.join(tlsDir, 'key.pem')), cert: readFileSync(path.join(tlsDir, 'cert.pem')) },
    (request, response) => {
      const forward = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      forward.on('error', () => response.destroy());
      response.on('close', () => forward.destroy());
      request.pipe(forward);
    },
  );
  await new Promise<void>((resolve) => tlsFront.listen(0, '127.0.0.1', resolve));
  tlsUrl = `https://127.0.0.1:${(tlsFront.address() as AddressInfo).port}`;
}

after(async () => {
  tlsFront.closeAllConnections();
  await new Promise((resolve) => tlsFront.close(resolve));
  rmSync(tlsDir, { recursive: true, force: true });
});

test('a self-signed OpenCTI certificate is refused by default, with an error naming the way to trust it', async () => {
  const http = createHttpClient({ verifyTls: true });
  await assert.rejects(new OpenCtiApi({ url: tlsUrl, token: opencti.token }, connector(), http.fetch).register(), (error: Error) => {
    assert.match(error.message, /TLS certificate is not trusted \(self[- ]signed certificate;.*DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    assert.match(error.message, /NODE_EXTRA_CA_CERTS/);
    assert.match(error.message, /OPENCTI_SSL_VERIFY=false/);
    return true;
  });
  await http.close();
});

test('OPENCTI_SSL_VERIFY=false accepts the self-signed certificate for the API and the stream', async () => {
  const http = createHttpClient({ verifyTls: false });
  await new OpenCtiApi({ url: tlsUrl, token: opencti.token }, connector(), http.fetch).register();
  await streamConnects(tlsUrl, http.fetch);
  await http.close();
});

test('...and through an HTTPS_PROXY tunnel too', async () => {
  proxy.seen.length = 0;
  const http = createHttpClient({ verifyTls: false, proxy: { httpsProxy: proxy.url } });
  await new OpenCtiApi({ url: tlsUrl, token: opencti.token }, connector(), http.fetch).register();
  assert.deepEqual(proxy.targets(), [hostOf(tlsUrl)]);
  await http.close();
});

test('NODE_EXTRA_CA_CERTS makes the private CA trusted with verification on', async () => {
  // Node reads NODE_EXTRA_CA_CERTS when the process starts: a child process, as in production.
  const script = `
    const { createHttpClient } = require('./common/http');
    const { OpenCtiApi } = require('./starter/opencti-api');
    const api = new OpenCtiApi({ url: process.argv[1], token: process.argv[2] }, JSON.parse(process.argv[3]), createHttpClient({ verifyTls: true }).fetch);
    api.register().then(() => console.log('registered'), (error) => { console.log('failed: ' + error.message); process.exitCode = 1; });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script, tlsUrl, opencti.token, JSON.stringify(connector())], {
    cwd: ROOT,
    env: { PATH: processEnvironment().PATH ?? '', NODE_EXTRA_CA_CERTS: path.join(tlsDir, 'cert.pem') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, output);
  assert.match(output, /registered/);
});
