/**
 * The configuration refuses what would leak or mislead (credentials in URLs, placeholders in any
 * spelling, misspelt config.yml keys, a verify interval that burns the quota), accepts what a
 * user of the Python connector already has (its compose environment, any CONNECTOR_SCOPE), and
 * reads the proxy and TLS settings.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { ConfigError, loadConfig } from '../../config/load';

const valid = {
  OPENCTI_URL: 'http://opencti:8080',
  OPENCTI_TOKEN: 'secret-opencti-token',
  CONNECTOR_ID: '60c69785-82d4-4fea-9c49-cc44b7324055',
  CONNECTOR_LIVE_STREAM_ID: 'live-yara',
  VIRUSTOTAL_LIVEHUNT_TOKEN: 'secret-vt-key',
  VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS: 'soc@example.org',
};

function problemsOf(load: () => unknown): string[] {
  try {
    load();
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.problems;
  }
}

const envProblems = (env: Record<string, string>) => problemsOf(() => loadConfig('all', { env, configFile: false }));

function withFile<T>(lines: string[], body: (file: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'config-'));
  const file = path.join(dir, 'config.yml');
  writeFileSync(file, lines.join('\n'));
  try {
    return body(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('URLs with a user name or password are refused, naming the variable and never the secret', () => {
  const problems = envProblems({
    ...valid,
    OPENCTI_URL: 'https://admin:hunter2@opencti.example.org',
    VIRUSTOTAL_LIVEHUNT_API_URL: 'https://apikey-in-url@vt.example.org/api/v3',
  });
  assert.equal(problems.length, 2, problems.join('\n'));
  assert.match(problems.join('\n'), /^OPENCTI_URL: must not contain a user name or password/m);
  assert.match(problems.join('\n'), /^VIRUSTOTAL_LIVEHUNT_API_URL: must not contain a user name or password/m);
  const message = new ConfigError(problems).message;
  for (const secret of ['hunter2', 'admin', 'apikey-in-url']) assert.ok(!message.includes(secret), `${secret} echoed`);
});

test('the ChangeMe placeholder is refused however it is spelt', () => {
  for (const spelling of ['ChangeMe', 'changeme', 'CHANGEME', ' changeMe ']) {
    const problems = envProblems({
      ...valid,
      OPENCTI_TOKEN: spelling,
      VIRUSTOTAL_LIVEHUNT_TOKEN: spelling,
      CONNECTOR_LIVE_STREAM_ID: spelling,
      VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS: `user1,${spelling.trim()}`,
    });
    for (const name of ['OPENCTI_TOKEN', 'VIRUSTOTAL_LIVEHUNT_TOKEN', 'CONNECTOR_LIVE_STREAM_ID', 'VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS']) {
      assert.ok(
        problems.some((problem) => problem.startsWith(`${name}: `) && /placeholder/.test(problem)),
        `${name} with ${JSON.stringify(spelling)}:\n${problems.join('\n')}`,
      );
    }
  }
});

test('an unknown config.yml key is an error naming it and the closest known key', () => {
  const problems = withFile(
    [
      'opencti:',
      '  url: http://opencti:8080',
      '  tokn: abc',
      'virustotal_livehunt:',
      '  update_mod: patch',
      'something_else:',
      '  entirely: 1',
    ],
    (file) => problemsOf(() => loadConfig('all', { env: valid, configFile: file })),
  );
  const text = problems.join('\n');
  assert.equal(problems.length, 3, text);
  assert.match(text, /opencti\.tokn: is not a setting of this connector \(did you mean opencti\.token\?\)/);
  assert.match(
    text,
    /virustotal_livehunt\.update_mod: is not a setting of this connector \(did you mean virustotal_livehunt\.update_mode\?\)/,
  );
  assert.match(text, /something_else\.entirely: is not a setting of this connector$/m);
  assert.ok(!text.includes('abc'), 'values are not echoed');
});

test('known config.yml keys load, including the Temporal SDK ones and the pycti keys that mean nothing here', () => {
  const config = withFile(
    [
      'opencti:',
      '  ssl_verify: false',
      'connector:',
      '  type: STREAM', // pycti's, kept in a Python connector's config.yml
      '  log_level: debug',
      'temporal:',
      '  tls: false',
      '  grpc_meta_x_team: soc',
      'https_proxy: proxy.example.org:3128',
    ],
    (file) => loadConfig('all', { env: valid, configFile: file }),
  );
  assert.equal(config.logLevel, 'debug');
  assert.equal(config.opencti.sslVerify, false);
  assert.equal(config.network.proxy.httpsProxy, 'http://proxy.example.org:3128');
});

test('the environment is not checked for unknown names (it is full of other programs)', () => {
  assert.deepEqual(envProblems({ ...valid, VIRUSTOTAL_LIVEHUNT_UPDATE_MOD: 'x', CONNECTOR_TYPE: 'STREAM', HOSTNAME: 'box' }), []);
});

test('the verify interval is at least a minute, or 0 to disable', () => {
  for (const bad of ['1ms', '59s', '0.5']) {
    assert.match(
      envProblems({ ...valid, VIRUSTOTAL_LIVEHUNT_VERIFY_INTERVAL: bad }).join('\n'),
      /^VIRUSTOTAL_LIVEHUNT_VERIFY_INTERVAL: must be at least 1 minute, or 0 to disable$/m,
      bad,
    );
  }
  for (const [good, ms] of [
    ['0', 0],
    ['1m', 60_000],
    ['60', 60_000],
    ['24h', 86_400_000],
  ] as const) {
    assert.equal(
      loadConfig('worker', { env: { ...valid, VIRUSTOTAL_LIVEHUNT_VERIFY_INTERVAL: good }, configFile: false }).virusTotal.verifyIntervalMs,
      ms,
      good,
    );
  }
});

test('any CONNECTOR_SCOPE is accepted; one nobody would set on purpose is a start-up warning', () => {
  for (const scope of ['yara', 'Yara', 'Virustotal', 'VIRUSTOTAL', 'yara,Indicator']) {
    const config = loadConfig('starter', { env: { ...valid, CONNECTOR_SCOPE: scope }, configFile: false });
    assert.equal(config.connector.scope, scope);
    assert.deepEqual(config.warnings, [], scope);
  }
  const odd = loadConfig('starter', { env: { ...valid, CONNECTOR_SCOPE: 'stix' }, configFile: false });
  assert.equal(odd.connector.scope, 'stix');
  assert.equal(odd.warnings.length, 1);
  assert.match(odd.warnings[0]!, /CONNECTOR_SCOPE is "stix"/);
  assert.deepEqual(
    loadConfig('worker', { env: { ...valid, CONNECTOR_SCOPE: 'stix' }, configFile: false }).warnings,
    [],
    'the worker does not read it',
  );
});

test('proxy variables: lowercase wins, host:port is accepted, a bad value is named without being echoed', () => {
  const config = loadConfig('all', {
    env: {
      ...valid,
      HTTPS_PROXY: 'http://upper:3128',
      https_proxy: 'http://lower:3128',
      HTTP_PROXY: 'proxy.corp:8080',
      NO_PROXY: 'localhost,.corp',
    },
    configFile: false,
  });
  assert.deepEqual(config.network.proxy, {
    httpsProxy: 'http://lower:3128',
    httpProxy: 'http://proxy.corp:8080',
    noProxy: 'localhost,.corp',
  });
  assert.deepEqual(loadConfig('worker', { env: valid, configFile: false }).network.proxy, {
    httpsProxy: undefined,
    httpProxy: undefined,
    noProxy: undefined,
  });
  const problems = envProblems({ ...valid, HTTPS_PROXY: 'http://user:pa ss@[bad' });
  assert.match(problems.join('\n'), /^HTTPS_PROXY: must be a proxy URL/m);
  assert.ok(!problems.join('\n').includes('pa ss'));
});

test('OPENCTI_SSL_VERIFY: true by default; false is accepted with a warning', () => {
  assert.equal(loadConfig('starter', { env: valid, configFile: false }).opencti.sslVerify, true);
  const off = loadConfig('starter', { env: { ...valid, OPENCTI_SSL_VERIFY: 'false' }, configFile: false });
  assert.equal(off.opencti.sslVerify, false);
  assert.match(off.warnings.join('\n'), /OPENCTI_SSL_VERIFY is false/);
  assert.match(envProblems({ ...valid, OPENCTI_SSL_VERIFY: 'perhaps' }).join('\n'), /^OPENCTI_SSL_VERIFY: must be true or false$/m);
});

// ---------------------------------------------------------------------------------------------
// Drop-in: the environment blocks users of the Python connector have.

/** The compose example of the Python connector's README (the specification this connector replaces). */
const SEED_README_COMPOSE = `
  connector-virustotal-livehunt:
    image: opencti/connector-virustotal-livehunt:latest
    environment:
      - OPENCTI_URL=http://localhost
      - OPENCTI_TOKEN=ChangeMe
      - CONNECTOR_ID=ChangeMe
      - CONNECTOR_NAME=VirusTotal LiveHunts
      - CONNECTOR_SCOPE=yara
      - CONNECTOR_CONFIDENCE_LEVEL=80
      - CONNECTOR_LOG_LEVEL=info
      - CONNECTOR_LIVE_STREAM_ID=ChangeMe
      - CONNECTOR_LIVE_STREAM_LISTEN_DELETE=true
      - CONNECTOR_LIVE_STREAM_NO_DEPENDENCIES=true
      - VIRUSTOTAL_LIVEHUNT_TOKEN=ChangeMe
      - VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS=user@example.com
      - VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS=["user1", "user2"]
    restart: always
`;

/**
 * The environment of the Python connector's own docker-compose.yml in the OpenCTI connectors
 * repository, as deployments copied it (reconstructed: STREAM type, scope `Virustotal`, Python
 * list literals, trailing compose comments).
 */
const PYTHON_CONNECTOR_COMPOSE = `
  connector-virustotal-livehunt:
    image: opencti/connector-virustotal-livehunt:rolling
    environment:
      - OPENCTI_URL=http://localhost
      - OPENCTI_TOKEN=ChangeMe
      - CONNECTOR_ID=ChangeMe
      - CONNECTOR_TYPE=STREAM
      - CONNECTOR_LIVE_STREAM_ID=ChangeMe # ID of the live stream created in the OpenCTI UI
      - CONNECTOR_LIVE_STREAM_LISTEN_DELETE=true
      - CONNECTOR_LIVE_STREAM_NO_DEPENDENCIES=true
      - "CONNECTOR_NAME=VirusTotal Livehunt"
      - CONNECTOR_SCOPE=Virustotal
      - CONNECTOR_CONFIDENCE_LEVEL=80 # From 0 (Unknown) to 100 (Fully trusted)
      - CONNECTOR_LOG_LEVEL=error
      - VIRUSTOTAL_LIVEHUNT_TOKEN=ChangeMe
      - VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS=['email1@example.com', 'email2@example.com']
      - VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS=['user1', 'user2']
    restart: always
`;

function environmentOf(compose: string): Record<string, string> {
  const service = Object.values(parseYaml(compose) as Record<string, { environment: string[] }>)[0]!;
  return Object.fromEntries(service.environment.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
}

/** What an operator does first: put real values where the placeholders are. */
function replacePlaceholders(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([key, value]) => [
      key,
      value !== 'ChangeMe' ? value : key === 'CONNECTOR_ID' ? '60c69785-82d4-4fea-9c49-cc44b7324055' : `real-${key.toLowerCase()}`,
    ]),
  );
}

for (const [what, compose, scope] of [
  ["the seed README's compose example", SEED_README_COMPOSE, 'yara'],
  ["the Python connector's compose file", PYTHON_CONNECTOR_COMPOSE, 'Virustotal'],
] as const) {
  test(`drop-in: ${what} loads once its placeholders are replaced, with no warning`, () => {
    const env = environmentOf(compose);
    assert.equal(env.CONNECTOR_SCOPE, scope);
    const asShipped = problemsOf(() => loadConfig('all', { env, configFile: false }));
    for (const name of ['OPENCTI_TOKEN', 'CONNECTOR_ID', 'CONNECTOR_LIVE_STREAM_ID', 'VIRUSTOTAL_LIVEHUNT_TOKEN']) {
      assert.ok(
        asShipped.some((problem) => problem.startsWith(`${name}: `)),
        `${name} refused as shipped`,
      );
    }
    const config = loadConfig('all', { env: replacePlaceholders(env), configFile: false });
    assert.equal(config.connector.scope, scope);
    assert.deepEqual(config.warnings, []);
    assert.equal(config.opencti.url, 'http://localhost');
    assert.equal(config.connector.listenDelete, true);
    assert.deepEqual(config.virusTotal.editors, [
      { type: 'user', id: 'user1' },
      { type: 'user', id: 'user2' },
    ]);
    assert.ok(config.virusTotal.notificationEmails.length >= 1);
  });
}
