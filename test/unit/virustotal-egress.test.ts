/**
 * The VirusTotal client against hostile servers: it never follows a redirect (the key stays on
 * the configured host), never reads an answer past its bound, and never waits longer than the
 * retry policy allows whatever Retry-After says.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure } from '../../activities/failures';
import { MAX_ANSWER_BYTES, MAX_RETRY_AFTER_MS, VirusTotalClient, VirusTotalError } from '../../activities/virustotal-client';
import { createLogger } from '../../common/logger';
import { listen, MiB, sampleRss, writeLazily, type TestServer } from '../support/hostile-http';

const KEY = 'vt-secret-key-0123456789';
const RULESET = { name: 'r', rules: 'rule r { condition: true }', enabled: true, limit: 100, notificationEmails: [] };

/** Where redirects point: records every request and whether the key came along. */
let elsewhere: TestServer;
const arrivals: Array<{ method: string; url: string; apiKey?: string }> = [];

before(async () => {
  elsewhere = await listen((request, response) => {
    arrivals.push({ method: request.method!, url: request.url!, apiKey: request.headers['x-apikey'] as string | undefined });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ data: { id: 'stolen', type: 'hunting_ruleset', attributes: { name: 'r', rules: RULESET.rules } } }));
  });
});

after(async () => {
  await elsewhere.close();
});

function failureOf(promise: Promise<unknown>): Promise<VirusTotalError> {
  return promise.then(
    () => assert.fail('expected a VirusTotalError'),
    (error: unknown) => {
      assert.ok(error instanceof VirusTotalError, `expected a VirusTotalError, got ${error}`);
      return error;
    },
  );
}

for (const status of [301, 302, 303, 307, 308]) {
  test(`a ${status} redirect is not followed: the key never reaches the other host, and the error names VIRUSTOTAL_LIVEHUNT_API_URL`, async () => {
    const redirecting = await listen((request, response) => {
      response.writeHead(status, { location: `${elsewhere.url}${request.url}` });
      response.end();
    });
    try {
      arrivals.length = 0;
      const client = new VirusTotalClient({ apiUrl: `${redirecting.url}/api/v3`, apiKey: KEY });
      for (const call of [
        () => client.createRuleset(RULESET),
        () => client.getRuleset('abc'),
        () => client.deleteRuleset('abc'),
        () => client.currentUser(),
      ]) {
        const error = await failureOf(call());
        assert.equal(error.kind, 'redirect');
        assert.equal(error.status, status);
        assert.match(error.message, /VIRUSTOTAL_LIVEHUNT_API_URL/);
        assert.match(error.message, new RegExp(`redirect to ${elsewhere.url.replace(/\./g, '\\.')}`));
        assert.ok(!error.message.includes(KEY), 'the key must not appear in the message');
      }
      assert.deepEqual(arrivals, [], 'nothing may reach the host the redirect names');

      // The activity is retried loudly, never failed for good: the operator fixes the URL.
      const lines: string[] = [];
      const failure = toActivityFailure(
        await failureOf(client.getRuleset('abc')),
        createLogger('debug', {}, { write: (line) => lines.push(line) }),
        { what: 'read a ruleset' },
      );
      assert.ok(failure instanceof ApplicationFailure);
      assert.equal(failure.nonRetryable, false);
      assert.equal(failure.type, 'VirusTotalRedirect');
      assert.match(lines.join(''), /"level":"ERROR".*check VIRUSTOTAL_LIVEHUNT_API_URL/);
      assert.ok(!lines.join('').includes(KEY));
    } finally {
      await redirecting.close();
    }
  });
}

test('a 400 MB answer without Content-Length is cut at the bound while it streams; memory stays bounded', async () => {
  let written: Promise<number> | undefined;
  const huge = await listen((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    written = writeLazily(response, 400 * MiB);
  });
  try {
    const client = new VirusTotalClient({ apiUrl: `${huge.url}/api/v3`, apiKey: KEY, timeoutMs: 60_000 });
    const baseline = process.memoryUsage().rss;
    const rss = sampleRss();
    const error = await failureOf(client.getRuleset('abc'));
    const peak = rss.stop();
    assert.equal(error.kind, 'oversized');
    assert.match(error.message, /larger than 16 MiB/);
    assert.match(error.message, /VIRUSTOTAL_LIVEHUNT_API_URL/);
    const sent = await written!;
    assert.ok(sent < 64 * MiB, `the server should have been cut off early, it wrote ${Math.round(sent / MiB)} MiB`);
    // Generous: the bound is 16 MiB of bytes, held once as text; reading all of it took ~1.6 GB.
    const growth = peak - baseline;
    process.stdout.write(
      `# rss baseline ${Math.round(baseline / MiB)} MiB, peak ${Math.round(peak / MiB)} MiB, server wrote ${Math.round(sent / MiB)} MiB\n`,
    );
    assert.ok(growth < 150 * MiB, `RSS grew by ${Math.round(growth / MiB)} MiB`);
  } finally {
    await huge.close();
  }
});

test('an announced Content-Length over the bound is refused before reading the body', async () => {
  let written: Promise<number> | undefined;
  const huge = await listen((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(400 * MiB) });
    written = writeLazily(response, 400 * MiB);
  });
  try {
    const client = new VirusTotalClient({ apiUrl: `${huge.url}/api/v3`, apiKey: KEY });
    const error = await failureOf(client.createRuleset(RULESET));
    assert.equal(error.kind, 'oversized');
    assert.match(error.message, /announced 400 MiB/);
    assert.ok((await written!) < 64 * MiB);
  } finally {
    await huge.close();
  }
});

test('an answer under the bound is read whole (the bound does not cut real answers)', async () => {
  const rules = `rule big { strings: $a = "${'a'.repeat(1_000_000)}" condition: $a }`;
  const big = await listen((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ data: { id: 'big', type: 'hunting_ruleset', attributes: { name: 'big', rules } } }));
  });
  try {
    const client = new VirusTotalClient({ apiUrl: `${big.url}/api/v3`, apiKey: KEY });
    const ruleset = await client.getRuleset('big');
    assert.equal(ruleset?.rules, rules);
    assert.ok(MAX_ANSWER_BYTES >= 16 * MiB);
  } finally {
    await big.close();
  }
});

for (const retryAfter of ['99999999', new Date(Date.now() + 10 * 365 * 86_400_000).toUTCString()]) {
  test(`429 with Retry-After ${retryAfter} waits at most the retry policy's 2 minutes`, async () => {
    const quota = await listen((_request, response) => {
      response.writeHead(429, { 'content-type': 'application/json', 'retry-after': retryAfter });
      response.end(JSON.stringify({ error: { code: 'QuotaExceededError', message: 'slow down' } }));
    });
    try {
      const client = new VirusTotalClient({ apiUrl: `${quota.url}/api/v3`, apiKey: KEY });
      const error = await failureOf(client.createRuleset(RULESET));
      assert.equal(error.kind, 'quota');
      assert.equal(error.retryAfterMs, MAX_RETRY_AFTER_MS);
      assert.equal(MAX_RETRY_AFTER_MS, 120_000);
      const failure = toActivityFailure(error, createLogger('error', {}, { write: () => undefined }), {
        what: 'create a ruleset',
        sendsRules: true,
      });
      assert.ok(failure instanceof ApplicationFailure);
      assert.equal(failure.nextRetryDelay, MAX_RETRY_AFTER_MS);
    } finally {
      await quota.close();
    }
  });
}

test('a reasonable Retry-After is kept as sent', async () => {
  const quota = await listen((_request, response) => {
    response.writeHead(429, { 'retry-after': '7' });
    response.end();
  });
  try {
    const error = await failureOf(new VirusTotalClient({ apiUrl: `${quota.url}/api/v3`, apiKey: KEY }).getRuleset('x'));
    assert.equal(error.retryAfterMs, 7_000);
  } finally {
    await quota.close();
  }
});
