/**
 * What operators do to a running connector: restart the worker, change its configuration,
 * misconfigure the editors. Nothing may hang, duplicate or lose track of a ruleset.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../support/processes';
import { Stack } from '../support/stack';
import { useTestTemporal } from '../support/temporal';
import { rule } from '../support/yara';

const temporal = useTestTemporal();

test('after a worker restart, switching detection off and on again makes a fresh ruleset', async () => {
  const stack = await Stack.start(temporal());
  try {
    const created = stack.opencti.createIndicator({ name: 'Off_And_On', pattern: rule('Off_And_On') });
    const first = await stack.applied(created.internalId, created.eventId);
    // The restarted worker reads the account's rulesets, this connector's own among them.
    await stack.worker.kill('SIGTERM');
    stack.restartWorker();
    await stack.applied(created.internalId, stack.opencti.updateIndicator(created.internalId, { detection: false }));
    const on = await stack.applied(created.internalId, stack.opencti.updateIndicator(created.internalId, { detection: true }));
    assert.equal(on.status, 'active');
    assert.notEqual(on.ruleset?.id, first.ruleset?.id);
    assert.deepEqual(
      stack.rulesetsNamed('Off_And_On').map((r) => r.id),
      [on.ruleset?.id],
    );
  } finally {
    await stack.stop();
  }
});

test('a running workflow picks up new notification e-mails at its next step', async () => {
  const stack = await Stack.start(temporal(), { env: { VIRUSTOTAL_LIVEHUNT_UPDATE_MODE: 'patch' } });
  try {
    const created = stack.opencti.createIndicator({ name: 'New_Emails', pattern: rule('New_Emails') });
    const first = await stack.applied(created.internalId, created.eventId);
    await stack.worker.kill('SIGTERM');
    stack.restartWorker({ VIRUSTOTAL_LIVEHUNT_NOTIFICATION_EMAILS: 'hunt@example.org' });
    await stack.handle(created.internalId).signal('reapply');
    const updated = await waitFor('the new e-mails', () => {
      const ruleset = stack.rulesetsNamed('New_Emails')[0];
      return ruleset?.notification_emails.join() === 'hunt@example.org' ? ruleset : undefined;
    });
    assert.equal(updated.id, first.ruleset?.id, 'updated in place');
  } finally {
    await stack.stop();
  }
});

test('editors VirusTotal refuses: the ruleset is kept and tracked, the error names the variable', async () => {
  const stack = await Stack.start(temporal(), { env: { VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS: 'no_such_user' } });
  try {
    stack.vt.injectFault({
      method: 'POST',
      path: /\/relationships\/editors$/,
      status: 400,
      code: 'InvalidArgumentError',
      message: 'User "no_such_user" not found',
      times: Infinity,
    });
    const created = stack.opencti.createIndicator({ name: 'Unshared', pattern: rule('Unshared') });
    const state = await stack.applied(created.internalId, created.eventId);
    assert.equal(state.status, 'active');
    assert.match(state.lastError?.message ?? '', /editors refused/);
    assert.deepEqual(
      stack.rulesetsNamed('Unshared').map((r) => r.id),
      [state.ruleset?.id],
    );
    assert.match(stack.worker.log(), /VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS/);
    const deleted = await stack.applied(created.internalId, stack.opencti.deleteIndicator(created.internalId));
    assert.equal(deleted.status, 'deleted');
    assert.equal(stack.rulesetsNamed('Unshared').length, 0, 'still tracked, so still deleted');
  } finally {
    await stack.stop();
  }
});
