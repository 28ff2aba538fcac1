/**
 * The activities of the indicator workflow: thin, idempotent steps against VirusTotal.
 * Built by a factory that receives its dependencies, so tests hand it an emulator.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { VirusTotalSettings } from '../config/load';
import type { Logger } from '../common/logger';
import { INVALID_RULE } from '../domain/failures';
import { sameEmails, type RulesetContent } from '../domain/ruleset';
import { toActivityFailure, type StepKind } from './failures';
import { LegacyRulesetIndex } from './legacy-rulesets';
import { createRulePreparation } from './rule-preparation';
import { CLOCK_SKEW_SECONDS, RulesetLookup } from './ruleset-lookup';
import { createSharing } from './sharing';
import { VirusTotalClient, VirusTotalError } from './virustotal-client';
import type { YaraCompiler } from './yara-compiler';
import type { PreparedRules } from './yara-ruleset';

/** What the workflow needs to know of the worker's configuration, read again before each step. */
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
  /** 'adopted': taken over from the previous connector; 'recovered': made by an earlier attempt. */
  outcome: 'created' | 'adopted' | 'recovered';
  content: RulesetContent;
  /** VirusTotal refused the configured editors: the ruleset exists and is kept, unshared. */
  shareError?: string;
}

export type VerifyOutcome =
  { status: 'in-place' | 'repaired'; shareError?: string } | { status: 'missing' } | { status: 'rejected'; message: string };

export interface LivehuntActivityDeps {
  client: VirusTotalClient;
  settings: VirusTotalSettings;
  log: Logger;
  /**
   * Workflow ids of running indicator workflows that record this ruleset id (Temporal
   * visibility), so adoption never takes a ruleset another indicator already holds.
   */
  rulesetHolders?: (rulesetId: string) => Promise<string[]>;
  /** VirusTotal's YARA compiler, run before any request (default: YARA-X, loaded on first use). */
  compiler?: YaraCompiler;
}

export function createLivehuntActivities({ client, settings, log, rulesetHolders, compiler }: LivehuntActivityDeps) {
  const { prepare, compiled, write } = createRulePreparation({ settings, log, compiler });
  const legacy = new LegacyRulesetIndex(client);
  // Read the account's rulesets in the background right away: a large account takes many pages,
  // and activities should find the index ready rather than wait for it within their timeout.
  if (settings.adoptExisting)
    legacy
      .warmUp()
      .catch((error: unknown) =>
        log.warn('could not list the existing rulesets yet; will retry on first use', { error: (error as Error).message }),
      );
  const { findLegacy, findRecent } = new RulesetLookup(client, legacy, rulesetHolders);
  const { shareKeeping } = createSharing({ client, editors: settings.editors, log });

  /** Runs one VirusTotal step, translating its failures into retry decisions. */
  async function step<T>(kind: StepKind, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw toActivityFailure(error, log, kind);
    }
  }

  return {
    /**
     * Compiles the rule as ensureRuleset would, without any request: the recreate update runs it
     * before deleting the current ruleset, so an invalid edit leaves the valid rule running.
     * Fails with InvalidRule (non-retryable) when the rule cannot be sent.
     */
    async checkRules(input: { internalId: string; content: RulesetContent }): Promise<void> {
      prepare(input.internalId, input.content, { quiet: true });
    },

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
      const prepared = prepare(input.internalId, input.content);
      return step({ what: 'create a ruleset', sendsRules: true }, async () => {
        let outcome: EnsuredRuleset['outcome'] = 'adopted';
        // The previous connector sent the pattern as written: adoption compares with that.
        let existing = input.adoptExisting ? await findLegacy(input.internalId, input.content) : undefined;
        if (!existing && info.attempt > 1) {
          outcome = 'recovered';
          existing = await findRecent(input.content, prepared.rules, Math.floor(info.scheduledTimestampMs / 1000) - CLOCK_SKEW_SECONDS);
        }
        if (existing) {
          const sameRules = existing.rules === prepared.rules && existing.matchObjectType === prepared.matchObjectType;
          if (!existing.enabled || !sameEmails(existing.notificationEmails, input.content.notificationEmails) || !sameRules) {
            await client.updateRuleset(existing.id, {
              enabled: true,
              notificationEmails: input.content.notificationEmails,
              ...(sameRules ? {} : { rules: prepared.rules, matchObjectType: prepared.matchObjectType }),
            });
          }
          const shareError = await shareKeeping(existing.id);
          log.info(`ruleset ${outcome}`, { internalId: input.internalId, rulesetId: existing.id, attempt: info.attempt });
          return { rulesetId: existing.id, outcome, content: compiled(input.content, prepared), shareError };
        }
        const created = await client.createRuleset(write(input.content, prepared));
        const shareError = await shareKeeping(created.id, []);
        log.info('ruleset created', {
          internalId: input.internalId,
          rulesetId: created.id,
          name: input.content.name,
          matchObjectType: prepared.matchObjectType,
        });
        return { rulesetId: created.id, outcome: 'created' as const, content: compiled(input.content, prepared), shareError };
      });
    },

    /**
     * After the switch from the Python connector, an indicator that loses detection, is revoked
     * or is deleted may have a ruleset that connector made and this one never held: remove it,
     * as the Python connector would have. Only a ruleset adoption would have taken (owned by the
     * account, exactly this name and these rules, held by no other indicator) is touched.
     */
    async releaseLegacyRuleset(input: { internalId: string; name: string; rules: string }): Promise<'deleted' | 'none'> {
      return step({ what: 'delete a ruleset' }, async () => {
        const legacyRuleset = await findLegacy(input.internalId, { name: input.name, rules: input.rules, notificationEmails: [] });
        if (!legacyRuleset) return 'none';
        const outcome = await client.deleteRuleset(legacyRuleset.id);
        legacy.forget(legacyRuleset.id);
        log.info('deleted the ruleset the previous connector made for this indicator', {
          internalId: input.internalId,
          rulesetId: legacyRuleset.id,
          outcome,
        });
        return 'deleted';
      });
    },

    /** PATCH in place, keeping id, editors and history. 'missing' when it no longer exists. */
    async updateRuleset(input: { internalId: string; rulesetId: string; content: RulesetContent }): Promise<'updated' | 'missing'> {
      const prepared = prepare(input.internalId, input.content);
      return step({ what: 'update a ruleset', sendsRules: true }, async () => {
        // Carries match_object_type too: an edit may turn a file rule into a URL rule.
        const updated = await client.updateRuleset(input.rulesetId, write(input.content, prepared));
        if (updated) log.info('ruleset updated', { internalId: input.internalId, rulesetId: input.rulesetId });
        return updated ? 'updated' : 'missing';
      });
    },

    async deleteRuleset(input: { internalId: string; rulesetId: string }): Promise<'deleted' | 'absent'> {
      return step({ what: 'delete a ruleset' }, async () => {
        const outcome = await client.deleteRuleset(input.rulesetId);
        legacy.forget(input.rulesetId);
        log.info(`ruleset ${outcome === 'deleted' ? 'deleted' : 'already gone'}`, {
          internalId: input.internalId,
          rulesetId: input.rulesetId,
        });
        return outcome;
      });
    },

    /** Drift repair: puts back content edited by hand and editors removed by hand. */
    async verifyRuleset(input: { internalId: string; rulesetId: string; content: RulesetContent }): Promise<VerifyOutcome> {
      let prepared: PreparedRules;
      try {
        prepared = prepare(input.internalId, input.content, { quiet: true });
      } catch (error) {
        // A rule accepted once and refused now (a stricter compiler) cannot be put back either.
        if (error instanceof ApplicationFailure && error.type === INVALID_RULE)
          return { status: 'rejected' as const, message: error.message };
        throw error;
      }
      return step({ what: 'verify a ruleset' }, async () => {
        const remote = await client.getRuleset(input.rulesetId);
        if (!remote) return { status: 'missing' as const };
        // Compared with what the connector sends, not with the pattern: with new files only,
        // VirusTotal holds the restricted text.
        const drifted =
          remote.name !== input.content.name ||
          remote.rules !== prepared.rules ||
          remote.matchObjectType !== prepared.matchObjectType ||
          !remote.enabled ||
          !sameEmails(remote.notificationEmails, input.content.notificationEmails);
        if (drifted) {
          try {
            const updated = await client.updateRuleset(input.rulesetId, write(input.content, prepared));
            if (!updated) return { status: 'missing' as const };
          } catch (error) {
            // A rule VirusTotal no longer accepts cannot be put back; say so instead of retrying forever.
            if (error instanceof VirusTotalError && error.kind === 'invalid')
              return { status: 'rejected' as const, message: error.message };
            throw error;
          }
          log.warn('ruleset edited outside the connector was put back', { internalId: input.internalId, rulesetId: input.rulesetId });
        }
        const shareError = await shareKeeping(input.rulesetId);
        return { status: drifted ? ('repaired' as const) : ('in-place' as const), shareError };
      });
    },
  };
}

export type LivehuntActivities = ReturnType<typeof createLivehuntActivities>;
