/**
 * The activities of the indicator workflow: thin, idempotent steps against VirusTotal.
 * Built by a factory that receives its dependencies, so tests hand it an emulator.
 */
import { Context } from '@temporalio/activity';
import type { VirusTotalSettings } from '../config/load';
import type { Logger } from '../common/logger';
import { editorKey, type Editor, type RulesetContent } from '../domain/ruleset';
import { toActivityFailure } from './failures';
import { LegacyRulesetIndex } from './legacy-rulesets';
import { VirusTotalClient, type RemoteRuleset } from './virustotal-client';

/** What the workflow needs to know of the worker's configuration, recorded once per run. */
export interface LivehuntSettings {
  notificationEmails: string[];
  updateMode: 'recreate' | 'patch';
  adoptExisting: boolean;
  verifyIntervalMs: number;
}

export interface EnsureRulesetInput {
  internalId: string;
  content: RulesetContent;
  /** Look for a ruleset the previous (Python) connector made before creating one. */
  adoptExisting: boolean;
}

export interface EnsuredRuleset {
  rulesetId: string;
  /** 'adopted' when an existing ruleset was taken over instead of creating one. */
  outcome: 'created' | 'adopted' | 'recovered';
  content: RulesetContent;
}

export type VerifyOutcome = { status: 'in-place' | 'repaired' } | { status: 'missing' };

/** How far back a retried create looks for its own ruleset, beyond the first attempt's schedule time. */
const CLOCK_SKEW_SECONDS = 300;

export interface LivehuntActivityDeps {
  client: VirusTotalClient;
  settings: VirusTotalSettings;
  log: Logger;
}

export function createLivehuntActivities({ client, settings, log }: LivehuntActivityDeps) {
  const write = (content: RulesetContent) => ({
    name: content.name,
    rules: content.rules,
    enabled: true,
    limit: settings.rulesetLimit,
    notificationEmails: content.notificationEmails,
  });

  /** Runs one VirusTotal step, translating its failures into retry decisions. */
  async function step<T>(what: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw toActivityFailure(error, log, what);
    }
  }

  const legacy = new LegacyRulesetIndex(client);
  // Read the account's rulesets in the background right away: a large account takes many pages,
  // and activities should find the index ready rather than wait for it within their timeout.
  if (settings.adoptExisting) legacy.warmUp().catch((error: unknown) => log.warn('could not list the existing rulesets yet; will retry on first use', { error: (error as Error).message }));

  /** A ruleset someone else owns and merely shares with this account is never taken over. */
  async function ownedByUs(rulesetId: string): Promise<boolean> {
    return (await client.owner(rulesetId)) === (await client.currentUser());
  }

  /**
   * A ruleset this connector's earlier attempt may have created: owned, exactly this name and
   * these rules, created since the first attempt. The list filter matches whole words and is only
   * a candidate search, so names and rules are compared exactly and every page is read.
   */
  async function findRecent(content: RulesetContent, createdSince: number): Promise<RemoteRuleset | undefined> {
    const words = content.name.match(/[A-Za-z0-9]+/g) ?? [];
    const filter = words.map((word) => `name:${word}`).join(' ') || undefined;
    for await (const candidate of client.listRulesets(filter)) {
      if (candidate.name !== content.name || candidate.rules !== content.rules) continue;
      if ((candidate.creationDate ?? 0) < createdSince) continue;
      if (await ownedByUs(candidate.id)) return candidate;
    }
    return undefined;
  }

  /** A ruleset the previous connector made for this content, still there and owned by us. */
  async function findLegacy(internalId: string, content: RulesetContent): Promise<RemoteRuleset | undefined> {
    for (const id of await legacy.candidates(content, internalId)) {
      if (!(await ownedByUs(id))) continue;
      const current = await client.getRuleset(id);
      if (!current || current.name !== content.name || current.rules !== content.rules) continue;
      legacy.claim(id, internalId);
      return current;
    }
    return undefined;
  }

  /** Adds the configured editors that are missing; `known` skips the listing on a fresh ruleset. */
  async function share(rulesetId: string, known?: Editor[]): Promise<void> {
    if (settings.editors.length === 0) return;
    const present = new Set((known ?? (await client.listEditors(rulesetId))).map(editorKey));
    const missing = settings.editors.filter((editor) => !present.has(editorKey(editor)));
    await client.addEditors(rulesetId, missing);
  }

  return {
    async livehuntSettings(): Promise<LivehuntSettings> {
      return {
        notificationEmails: settings.notificationEmails,
        updateMode: settings.updateMode,
        adoptExisting: settings.adoptExisting,
        verifyIntervalMs: settings.verifyIntervalMs,
      };
    },

    /**
     * Makes sure one ruleset with this content exists and is shared, and returns its id.
     * Idempotent: a retry (after a 504 that committed, a reset connection, or a worker that died
     * before reporting) first looks for the ruleset the earlier attempt may have created.
     */
    async ensureRuleset(input: EnsureRulesetInput): Promise<EnsuredRuleset> {
      const info = Context.current().info;
      const retry = info.attempt > 1;
      return step('create a ruleset', async () => {
        const existing =
          (input.adoptExisting ? await findLegacy(input.internalId, input.content) : undefined) ??
          (retry ? await findRecent(input.content, Math.floor(info.scheduledTimestampMs / 1000) - CLOCK_SKEW_SECONDS) : undefined);
        if (existing) {
          const sameEmails = [...existing.notificationEmails].sort().join() === [...input.content.notificationEmails].sort().join();
          if (!existing.enabled || !sameEmails) await client.updateRuleset(existing.id, { enabled: true, notificationEmails: input.content.notificationEmails });
          await share(existing.id);
          const outcome = (await legacy.candidates(input.content, input.internalId)).includes(existing.id) ? 'adopted' : 'recovered';
          log.info(`ruleset ${outcome}`, { internalId: input.internalId, rulesetId: existing.id, attempt: info.attempt });
          return { rulesetId: existing.id, outcome, content: input.content };
        }
        const created = await client.createRuleset(write(input.content));
        await share(created.id, []);
        log.info('ruleset created', { internalId: input.internalId, rulesetId: created.id, name: input.content.name });
        return { rulesetId: created.id, outcome: 'created' as const, content: input.content };
      });
    },

    /** PATCH in place, keeping id, editors and history. 'missing' when it no longer exists. */
    async updateRuleset(input: { internalId: string; rulesetId: string; content: RulesetContent }): Promise<'updated' | 'missing'> {
      return step('update a ruleset', async () => {
        const updated = await client.updateRuleset(input.rulesetId, write(input.content));
        if (updated) log.info('ruleset updated', { internalId: input.internalId, rulesetId: input.rulesetId });
        return updated ? 'updated' : 'missing';
      });
    },

    async deleteRuleset(input: { internalId: string; rulesetId: string }): Promise<'deleted' | 'absent'> {
      return step('delete a ruleset', async () => {
        const outcome = await client.deleteRuleset(input.rulesetId);
        log.info(`ruleset ${outcome === 'deleted' ? 'deleted' : 'already gone'}`, { internalId: input.internalId, rulesetId: input.rulesetId });
        return outcome;
      });
    },

    /** Drift repair: puts back content edited by hand and editors removed by hand. */
    async verifyRuleset(input: { internalId: string; rulesetId: string; content: RulesetContent }): Promise<VerifyOutcome> {
      return step('verify a ruleset', async () => {
        const remote = await client.getRuleset(input.rulesetId);
        if (!remote) return { status: 'missing' as const };
        const drifted =
          remote.name !== input.content.name ||
          remote.rules !== input.content.rules ||
          !remote.enabled ||
          [...remote.notificationEmails].sort().join() !== [...input.content.notificationEmails].sort().join();
        if (drifted) {
          const updated = await client.updateRuleset(input.rulesetId, write(input.content));
          if (!updated) return { status: 'missing' as const };
          log.warn('ruleset edited outside the connector was put back', { internalId: input.internalId, rulesetId: input.rulesetId });
        }
        await share(input.rulesetId);
        return { status: drifted ? ('repaired' as const) : ('in-place' as const) };
      });
    },
  };
}

export type LivehuntActivities = ReturnType<typeof createLivehuntActivities>;
