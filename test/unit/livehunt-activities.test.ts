/**
 * The Livehunt activities against the VirusTotal emulator in process, run inside the SDK's
 * MockActivityEnvironment so they see a real activity context (the attempt number and schedule
 * time a retried create relies on). What each activity leaves in VirusTotal is read from the
 * emulator; what Temporal is told to do with a failure is read from the error they throw.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createLivehuntActivities, type LivehuntActivities } from '../../activities/livehunt';
import { VirusTotalClient } from '../../activities/virustotal-client';
import { createLogger } from '../../common/logger';
import type { VirusTotalSettings } from '../../config/load';
import type { RulesetContent } from '../../domain/ruleset';
import { COLLEAGUE_USER, CONNECTOR_KEY, CONNECTOR_USER, useVirusTotalEmulator } from '../support/virustotal';
import { rule } from '../support/yara';

const vt = useVirusTotalEmulator();

interface Harness {
  activities: LivehuntActivities;
  /** Log lines the activities wrote, parsed. */
  logs: Array<{ level: string; message: string } & Record<string, unknown>>;
  client: VirusTotalClient;
}

function harness(change: Partial<VirusTotalSettings> = {}, rulesetHolders?: (rulesetId: string) => Promise<string[]>): Harness {
  const settings: VirusTotalSettings = {
    apiKey: CONNECTOR_KEY,
    apiUrl: vt().url,
    notificationEmails: ['soc@example.org'],
    editors: [{ type: 'user', id: COLLEAGUE_USER }],
    updateMode: 'recreate',
    adoptExisting: false,
    verifyIntervalMs: 24 * 60 * 60 * 1000,
    rulesetLimit: 100,
    newFilesOnly: false,
    ...change,
  };
  const logs: Harness['logs'] = [];
  const client = new VirusTotalClient({ apiUrl: settings.apiUrl, apiKey: settings.apiKey });
  const log = createLogger('debug', {}, { write: (line) => logs.push(JSON.parse(line)) });
  return { activities: createLivehuntActivities({ client, settings, log, rulesetHolders }), logs, client };
}

/** An activity context for attempt `attempt` of an activity first scheduled at `scheduledMs`. */
function attempt(attempt: number, scheduledMs = Date.now()) {
  const env = new MockActivityEnvironment(
    { attempt, scheduledTimestampMs: scheduledMs, currentAttemptScheduledTimestampMs: Date.now() },
    { logger: quietLogger },
  );
  // MockActivityEnvironment.run does not infer an activity's result type; this keeps it.
  return {
    run: <A extends unknown[], R>(activity: (...args: A) => Promise<R>, ...args: A): Promise<R> => env.run(activity, ...args) as Promise<R>,
  };
}

// The SDK logs each activity failure; the tests assert on the failures themselves.
const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

const content: RulesetContent = { name: 'Emotet loader', rules: rule('emotet'), notificationEmails: ['soc@example.org'] };
const internalId = 'c0ffee00-0000-4000-8000-000000000001';

async function activityFailure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the activity to fail');
}

describe('ensureRuleset', () => {
  test('creates the ruleset (enabled, limit, e-mails) and shares it with the editors: two requests', async () => {
    const { activities } = harness();
    const ensured = await attempt(1).run(activities.ensureRuleset, { internalId, content, adoptExisting: false });
    assert.equal(ensured.outcome, 'created');
    assert.equal(ensured.shareError, undefined);
    const [stored, ...others] = vt().rulesets();
    assert.deepEqual(others, []);
    assert.deepEqual(
      {
        id: stored?.id,
        owner: stored?.owner,
        name: stored?.name,
        rules: stored?.rules,
        enabled: stored?.enabled,
        limit: stored?.limit,
        emails: stored?.notification_emails,
        editors: stored?.editors,
      },
      {
        id: ensured.rulesetId,
        owner: CONNECTOR_USER,
        name: content.name,
        rules: content.rules,
        enabled: true,
        limit: 100,
        emails: ['soc@example.org'],
        editors: [{ type: 'user', id: COLLEAGUE_USER }],
      },
    );
    assert.deepEqual(
      vt()
        .requests()
        .map((request) => `${request.method} ${request.path}`),
      ['POST /intelligence/hunting_rulesets', `POST /intelligence/hunting_rulesets/${ensured.rulesetId}/relationships/editors`],
    );
  });

  test('a retry after a create that committed but answered 504 finds its own ruleset instead of making a second', async () => {
    const { activities } = harness();
    // A colleague's identical ruleset, shared with the connector: visible, but not ours to take.
    vt().seedRuleset({ owner: COLLEAGUE_USER, name: content.name, rules: content.rules, editors: [{ type: 'user', id: CONNECTOR_USER }] });
    vt().injectFault({ method: 'POST', path: /^\/intelligence\/hunting_rulesets$/, status: 504, afterCommit: true });
    const scheduled = Date.now();

    const first = await activityFailure(attempt(1, scheduled).run(activities.ensureRuleset, { internalId, content, adoptExisting: false }));
    assert.equal(first.type, 'VirusTotalUnavailable');
    assert.equal(first.nonRetryable, false);
    const committed = vt()
      .rulesets()
      .filter((ruleset) => ruleset.owner === CONNECTOR_USER);
    assert.equal(committed.length, 1, 'the first attempt did create it');

    const retried = await attempt(2, scheduled).run(activities.ensureRuleset, { internalId, content, adoptExisting: false });
    assert.equal(retried.outcome, 'recovered');
    assert.equal(retried.rulesetId, committed[0]?.id);
    const ours = vt()
      .rulesets()
      .filter((ruleset) => ruleset.owner === CONNECTOR_USER);
    assert.equal(ours.length, 1, 'no second ruleset');
    assert.deepEqual(ours[0]?.editors, [{ type: 'user', id: COLLEAGUE_USER }], 'shared by the retry');
    assert.equal(vt().rulesets().length, 2, "the colleague's ruleset is untouched");
  });

  test('adopts the ruleset the Python connector made (owned, same name and rules), bringing e-mails and editors in line', async () => {
    const legacy = vt().seedRuleset({
      owner: CONNECTOR_USER,
      name: content.name,
      rules: content.rules,
      enabled: false,
      notification_emails: ['old@example.org'],
      creation_date: 1_600_000_000,
    });
    const { activities } = harness({ adoptExisting: true });
    const ensured = await attempt(1).run(activities.ensureRuleset, { internalId, content, adoptExisting: true });
    assert.deepEqual([ensured.outcome, ensured.rulesetId], ['adopted', legacy.id]);
    const [stored, ...others] = vt().rulesets();
    assert.deepEqual(others, []);
    assert.deepEqual(
      { enabled: stored?.enabled, emails: stored?.notification_emails, editors: stored?.editors },
      { enabled: true, emails: ['soc@example.org'], editors: [{ type: 'user', id: COLLEAGUE_USER }] },
    );
  });

  test('never adopts a ruleset merely shared with the account, nor one another indicator holds', async () => {
    const shared = vt().seedRuleset({
      owner: COLLEAGUE_USER,
      name: content.name,
      rules: content.rules,
      editors: [{ type: 'user', id: CONNECTOR_USER }],
    });
    const held = vt().seedRuleset({ owner: CONNECTOR_USER, name: content.name, rules: content.rules });
    const { activities } = harness({ adoptExisting: true }, async (rulesetId) =>
      rulesetId === held.id ? ['livehunt-indicator-someone-else'] : [],
    );
    const ensured = await attempt(1).run(activities.ensureRuleset, { internalId, content, adoptExisting: true });
    assert.equal(ensured.outcome, 'created');
    assert.ok(![shared.id, held.id].includes(ensured.rulesetId));
    assert.equal(vt().rulesets().length, 3);
  });

  test('a rule VirusTotal rejects (400) is a non-retryable InvalidRule carrying its message', async () => {
    vt().setInvalidRulePattern(/BROKEN/);
    const { activities } = harness();
    const rejected = await activityFailure(
      attempt(1).run(activities.ensureRuleset, { internalId, content: { ...content, rules: rule('BROKEN') }, adoptExisting: false }),
    );
    assert.equal(rejected.type, 'InvalidRule');
    assert.equal(rejected.nonRetryable, true);
    assert.match(rejected.message, /400 InvalidArgumentError/);
    assert.deepEqual(vt().rulesets(), []);
  });

  test("429 is retried after VirusTotal's Retry-After; 401 is retried, with an error naming VIRUSTOTAL_LIVEHUNT_TOKEN", async () => {
    const { activities, logs } = harness();
    vt().injectFault({ status: 429, retryAfterSeconds: 7 });
    const quota = await activityFailure(attempt(1).run(activities.ensureRuleset, { internalId, content, adoptExisting: false }));
    assert.deepEqual([quota.type, quota.nonRetryable, quota.nextRetryDelay], ['VirusTotalQuota', false, 7000]);

    vt().injectFault({ status: 401 });
    const auth = await activityFailure(attempt(1).run(activities.ensureRuleset, { internalId, content, adoptExisting: false }));
    assert.deepEqual([auth.type, auth.nonRetryable], ['VirusTotalAuth', false]);
    assert.ok(logs.some((line) => line.level === 'ERROR' && line.message.includes('VIRUSTOTAL_LIVEHUNT_TOKEN')));
    assert.deepEqual(vt().rulesets(), []);
  });
});

describe('updateRuleset, deleteRuleset, verifyRuleset', () => {
  async function created(activities: LivehuntActivities): Promise<string> {
    return (await attempt(1).run(activities.ensureRuleset, { internalId, content, adoptExisting: false })).rulesetId;
  }

  test('update patches in place (same id, editors kept); a vanished ruleset is "missing"; a rejected rule is InvalidRule', async () => {
    const { activities } = harness({ updateMode: 'patch' });
    const rulesetId = await created(activities);
    const changed = { ...content, rules: rule('emotet_v2') };
    assert.equal(await attempt(1).run(activities.updateRuleset, { internalId, rulesetId, content: changed }), 'updated');
    const [stored] = vt().rulesets();
    assert.deepEqual([stored?.id, stored?.rules, stored?.editors.length], [rulesetId, changed.rules, 1]);

    vt().setInvalidRulePattern(/BROKEN/);
    const rejected = await activityFailure(
      attempt(1).run(activities.updateRuleset, { internalId, rulesetId, content: { ...content, rules: rule('BROKEN') } }),
    );
    assert.deepEqual([rejected.type, rejected.nonRetryable], ['InvalidRule', true]);
    assert.equal(vt().rulesets()[0]?.rules, changed.rules, 'the previous rule stays active');

    await attempt(1).run(activities.deleteRuleset, { internalId, rulesetId });
    assert.equal(await attempt(1).run(activities.updateRuleset, { internalId, rulesetId, content: changed }), 'missing');
  });

  test('delete removes the ruleset; deleting one that is already gone succeeds as "absent"', async () => {
    const { activities } = harness();
    const rulesetId = await created(activities);
    assert.equal(await attempt(1).run(activities.deleteRuleset, { internalId, rulesetId }), 'deleted');
    assert.deepEqual(vt().rulesets(), []);
    assert.equal(await attempt(2).run(activities.deleteRuleset, { internalId, rulesetId }), 'absent');
  });

  test("a 400 on a step that sends no rules is not the rule's fault: retried, never InvalidRule", async () => {
    const { activities } = harness();
    const rulesetId = await created(activities);
    vt().injectFault({ method: 'DELETE', status: 400 });
    const refused = await activityFailure(attempt(1).run(activities.deleteRuleset, { internalId, rulesetId }));
    assert.deepEqual([refused.type, refused.nonRetryable], ['VirusTotalRejected', false]);
  });

  test('verify puts back a ruleset edited and disabled by hand, finds it in place afterwards, and reports one deleted', async () => {
    const { activities, client } = harness();
    const rulesetId = await created(activities);
    await client.updateRuleset(rulesetId, { rules: rule('edited_by_hand'), enabled: false, notificationEmails: [] });

    assert.deepEqual(await attempt(1).run(activities.verifyRuleset, { internalId, rulesetId, content }), {
      status: 'repaired',
      shareError: undefined,
    });
    const [stored] = vt().rulesets();
    assert.deepEqual(
      { rules: stored?.rules, enabled: stored?.enabled, emails: stored?.notification_emails },
      { rules: content.rules, enabled: true, emails: content.notificationEmails },
    );
    assert.deepEqual(await attempt(1).run(activities.verifyRuleset, { internalId, rulesetId, content }), {
      status: 'in-place',
      shareError: undefined,
    });

    await client.deleteRuleset(rulesetId);
    assert.deepEqual(await attempt(1).run(activities.verifyRuleset, { internalId, rulesetId, content }), { status: 'missing' });
  });
});
