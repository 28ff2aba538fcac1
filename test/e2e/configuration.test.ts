/**
 * A bad configuration stops each role at start-up with one message naming every bad variable,
 * a non-zero exit, no stack trace, and no secret.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoleProcess } from '../support/processes';

const secrets = { OPENCTI_TOKEN: 'opencti-secret-token-123', VIRUSTOTAL_LIVEHUNT_TOKEN: 'vt-secret-key-456', password: 'url-password-789' };

for (const role of ['app', 'starter', 'worker'] as const) {
  test(`${role}: three mistakes are rejected together`, async () => {
    const process = RoleProcess.start(role, {
      OPENCTI_TOKEN: secrets.OPENCTI_TOKEN,
      VIRUSTOTAL_LIVEHUNT_TOKEN: secrets.VIRUSTOTAL_LIVEHUNT_TOKEN,
      OPENCTI_URL: `http://admin:${secrets.password}@opencti:8080`,
      CONNECTOR_ID: 'not-a-uuid',
      CONNECTOR_LIVE_STREAM_ID: 'live',
      VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS: 'soc@example.org, nobody',
      VIRUSTOTAL_LIVEHUNT_UPDATE_MODE: 'sometimes',
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    });
    const code = await process.exit();
    const output = process.log();
    assert.equal(code, 78, output);
    const expected = {
      app: ['OPENCTI_URL', 'CONNECTOR_ID', 'VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS', 'VIRUSTOTAL_LIVEHUNT_UPDATE_MODE'],
      starter: ['OPENCTI_URL', 'CONNECTOR_ID'],
      worker: ['VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS', 'VIRUSTOTAL_LIVEHUNT_UPDATE_MODE'],
    }[role];
    // One JSON line in the shape of every other line, its attributes listing each problem.
    const entries = output
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { level: string; message: string; attributes?: { problems?: string[] } });
    const report = entries.find((entry) => entry.message.startsWith('Invalid configuration'));
    assert.ok(report, output);
    assert.equal(report.level, 'ERROR');
    assert.match(report.message, new RegExp(`^Invalid configuration \\(${expected.length} problems\\): `));
    for (const name of expected)
      assert.ok(
        report.attributes?.problems?.some((problem) => problem.startsWith(`${name}: `)),
        `${name} named`,
      );
    assert.doesNotMatch(output, /^\s+at /m, 'no stack trace');
    for (const secret of Object.values(secrets)) assert.ok(!output.includes(secret), 'no secret printed');
  });
}
