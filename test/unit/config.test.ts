import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../config/load';
import { parseDurationMs, parseList } from '../../config/values';

const noFile = path.join(tmpdir(), 'no-such-config.yml');

const valid = {
  OPENCTI_URL: 'http://opencti:8080/',
  OPENCTI_TOKEN: 'secret-opencti-token',
  CONNECTOR_ID: '60c69785-82d4-4fea-9c49-cc44b7324055',
  CONNECTOR_LIVE_STREAM_ID: 'live-yara',
  VIRUSTOTAL_LIVEHUNT_TOKEN: 'secret-vt-key',
  VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS: 'soc@example.org, cti@example.org',
};

function problemsOf(env: Record<string, string>, role: 'all' | 'worker' | 'starter' = 'all'): string[] {
  try {
    loadConfig(role as 'all', { env, configFile: false });
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.problems;
  }
}

test('a valid configuration gets the seed defaults', () => {
  const config = loadConfig('all', { env: valid, configFile: false });
  assert.equal(config.opencti.url, 'http://opencti:8080');
  assert.equal(config.connector.name, 'VirusTotal LiveHunts');
  assert.equal(config.connector.scope, 'yara');
  assert.equal(config.connector.listenDelete, true);
  assert.equal(config.connector.noDependencies, true);
  assert.equal(config.connector.withInferences, false);
  assert.equal(config.connector.confidenceLevel, 80);
  assert.equal(config.logLevel, 'info');
  assert.deepEqual(config.virusTotal.notificationEmails, ['soc@example.org', 'cti@example.org']);
  assert.deepEqual(config.virusTotal.editors, []);
  assert.equal(config.virusTotal.apiUrl, 'https://www.virustotal.com/api/v3');
  assert.equal(config.virusTotal.updateMode, 'recreate');
  assert.equal(config.virusTotal.adoptExisting, true);
  assert.equal(config.virusTotal.verifyIntervalMs, 24 * 3_600_000);
  assert.equal(config.temporal.address, undefined);
  assert.equal(config.temporal.namespace, 'default');
  assert.equal(config.temporal.taskQueue, 'virustotal-livehunt');
});

test('shared owners accept the seed JSON list, comma-separated names and group: entries', () => {
  const json = loadConfig('worker', { env: { ...valid, VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS: '["user1", "user2"]' }, configFile: false });
  assert.deepEqual(json.virusTotal.editors, [
    { type: 'user', id: 'user1' },
    { type: 'user', id: 'user2' },
  ]);
  const mixed = loadConfig('worker', {
    env: { ...valid, VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS: 'alice, group:acme_soc,user:bob' },
    configFile: false,
  });
  assert.deepEqual(mixed.virusTotal.editors, [
    { type: 'user', id: 'alice' },
    { type: 'group', id: 'acme_soc' },
    { type: 'user', id: 'bob' },
  ]);
});

test('notification e-mails accept a JSON list, including the Python literal form', () => {
  const config = loadConfig('worker', {
    env: { ...valid, VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS: "['a@x.org', 'b@x.org']" },
    configFile: false,
  });
  assert.deepEqual(config.virusTotal.notificationEmails, ['a@x.org', 'b@x.org']);
});

test('three mistakes are reported together, each naming its variable, without echoing secrets', () => {
  const problems = problemsOf({
    ...valid,
    CONNECTOR_ID: 'not-a-uuid',
    CONNECTOR_CONFIDENCE_LEVEL: '101',
    VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS: 'soc@example.org,not-an-email',
  });
  assert.equal(problems.length, 3, problems.join('\n'));
  assert.match(problems.join('\n'), /CONNECTOR_ID: must be a UUID/);
  assert.match(problems.join('\n'), /CONNECTOR_CONFIDENCE_LEVEL: must be an integer from 0 to 100/);
  assert.match(problems.join('\n'), /VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS: .*not-an-email/);
  const message = new ConfigError(problems).message;
  assert.ok(!message.includes('secret-opencti-token') && !message.includes('secret-vt-key'));
});

test('mandatory variables and the ChangeMe placeholder are rejected', () => {
  const problems = problemsOf({ CONNECTOR_LIVE_STREAM_ID: 'ChangeMe', VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS: '[]' });
  const text = problems.join('\n');
  for (const name of ['OPENCTI_URL', 'OPENCTI_TOKEN', 'CONNECTOR_ID', 'CONNECTOR_LIVE_STREAM_ID', 'VIRUSTOTAL_LIVEHUNT_TOKEN']) {
    assert.match(text, new RegExp(`^${name}: `, 'm'), `${name} should be reported`);
  }
  assert.match(text, /CONNECTOR_LIVE_STREAM_ID: is still the placeholder/);
  assert.doesNotMatch(text, /NOTIFICATION_EMAILS/, '[] is an explicit empty list');
});

test('roles only require their own sections', () => {
  assert.deepEqual(problemsOf({ VIRUSTOTAL_LIVEHUNT_TOKEN: 'k', VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS: 'a@b.org' }, 'worker'), []);
  const { VIRUSTOTAL_LIVEHUNT_TOKEN: _k, VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS: _e, ...starterOnly } = valid;
  assert.deepEqual(problemsOf(starterOnly, 'starter'), []);
});

test('config.yml is read, and the environment wins over it', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'config-'));
  const file = path.join(dir, 'config.yml');
  writeFileSync(
    file,
    [
      'opencti:',
      '  url: http://from-file:8080',
      '  token: file-token',
      'connector:',
      "  id: '60c69785-82d4-4fea-9c49-cc44b7324055'",
      '  live_stream_id: stream-from-file',
      '  live_stream_listen_delete: false',
      'virustotal_livehunt:',
      '  token: file-key',
      '  notification_emails:',
      '    - a@x.org',
      '    - b@x.org',
      '  shared_owners: ["user1", "group:soc"]',
    ].join('\n'),
  );
  const config = loadConfig('all', { env: { OPENCTI_URL: 'http://from-env:8080' }, configFile: file });
  assert.equal(config.opencti.url, 'http://from-env:8080');
  assert.equal(config.connector.liveStreamId, 'stream-from-file');
  assert.equal(config.connector.listenDelete, false);
  assert.deepEqual(config.virusTotal.notificationEmails, ['a@x.org', 'b@x.org']);
  assert.deepEqual(config.virusTotal.editors, [
    { type: 'user', id: 'user1' },
    { type: 'group', id: 'soc' },
  ]);
});

test('a named config file that does not exist is an error naming CONNECTOR_CONFIG_FILE', () => {
  assert.throws(() => loadConfig('all', { env: { ...valid, CONNECTOR_CONFIG_FILE: noFile } }), /CONNECTOR_CONFIG_FILE/);
});

test('bad values of typed variables name the variable and the reason', () => {
  const problems = problemsOf({
    ...valid,
    CONNECTOR_LIVE_STREAM_LISTEN_DELETE: 'maybe',
    CONNECTOR_CONFIDENCE_LEVEL: '101',
    VIRUSTOTAL_LIVEHUNT_VERIFY_INTERVAL: 'soon',
    VIRUSTOTAL_LIVEHUNT_UPDATE_MODE: 'merge',
    OPENCTI_URL: 'opencti',
  });
  const text = problems.join('\n');
  assert.match(text, /CONNECTOR_LIVE_STREAM_LISTEN_DELETE: must be true or false/);
  assert.match(text, /CONNECTOR_CONFIDENCE_LEVEL: must be an integer from 0 to 100/);
  assert.match(text, /VIRUSTOTAL_LIVEHUNT_VERIFY_INTERVAL: must be a duration/);
  assert.match(text, /VIRUSTOTAL_LIVEHUNT_UPDATE_MODE: must be recreate or patch/);
  assert.match(text, /OPENCTI_URL: must be an http\(s\) URL/);
});

test('value parsers', () => {
  assert.equal(parseDurationMs('0'), 0);
  assert.equal(parseDurationMs('90s'), 90_000);
  assert.equal(parseDurationMs('1h30m'), 5_400_000);
  assert.equal(parseDurationMs('7d'), 604_800_000);
  assert.equal(parseDurationMs('1x'), undefined);
  assert.deepEqual(parseList('a, b,,c'), ['a', 'b', 'c']);
  assert.deepEqual(parseList('["a"]'), ['a']);
  assert.ok('error' in (parseList('[1, 2]') as object));
});
