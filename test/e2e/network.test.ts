/**
 * The connector behind a forward proxy, as on a corporate network: worker and starter run as
 * `npm run worker` and `npm run starter` with the proxy in their environment; VirusTotal, the
 * OpenCTI API and the live stream go through it, the Temporal connections do not (grpc-js would
 * take the lowercase http_proxy for the client if it were allowed to).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startForwardProxy, type ForwardProxy } from '../support/forward-proxy';
import { Stack } from '../support/stack';
import { useTestTemporal } from '../support/temporal';
import { rule } from '../support/yara';

const temporal = useTestTemporal();

describe('through a forward proxy', () => {
  let proxy: ForwardProxy;
  let stack: Stack;

  before(async () => {
    proxy = await startForwardProxy({ requireAuth: 'connector:proxy-pass' });
    const proxyUrl = `http://connector:proxy-pass@127.0.0.1:${proxy.port}`;
    stack = await Stack.start(temporal(), { env: { http_proxy: proxyUrl, HTTPS_PROXY: proxyUrl } });
  });

  after(async () => {
    await stack?.stop();
    await proxy?.close();
  });

  test('a ruleset is made with every HTTP request through the proxy and none of Temporal', async () => {
    const created = stack.opencti.createIndicator({ name: 'Behind_Proxy', pattern: rule('Behind_Proxy') });
    const state = await stack.applied(created.internalId, created.eventId);
    assert.equal(state.status, 'active');
    assert.equal(stack.rulesetsNamed('Behind_Proxy').length, 1);
    const hosts = proxy.targets();
    assert.ok(hosts.includes(new URL(stack.vt.url).host), `VirusTotal through the proxy: ${hosts.join(', ')}`);
    assert.ok(hosts.includes(new URL(stack.opencti.url).host), `OpenCTI through the proxy: ${hosts.join(', ')}`);
    assert.ok(!hosts.includes(temporal().address), `Temporal never through the proxy: ${hosts.join(', ')}`);
    assert.ok(
      proxy.seen.every((entry) => entry.proxyAuthorization !== undefined),
      'the proxy credentials went along',
    );
    const logs = `${stack.worker.log()}\n${stack.starter!.log()}`;
    assert.match(logs, /go through a proxy/);
    assert.ok(!logs.includes('proxy-pass'), 'proxy credentials never logged');
  });
});
