/**
 * From a ruleset's content to what is written to VirusTotal: the rules checked by the compiler
 * (and restricted to new files when configured), the match type, and what the workflow keeps.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { VirusTotalSettings } from '../config/load';
import type { Logger } from '../common/logger';
import { INVALID_RULE } from '../domain/failures';
import type { RulesetContent } from '../domain/ruleset';
import type { RulesetWrite } from './virustotal-client';
import { createYaraCompiler, type YaraCompiler } from './yara-compiler';
import { prepareRules, RuleRefused, type PreparedRules } from './yara-ruleset';

export interface RulePreparationDeps {
  settings: Pick<VirusTotalSettings, 'newFilesOnly' | 'rulesetLimit'>;
  log: Logger;
  /** VirusTotal's YARA compiler (default: YARA-X, loaded on first use). */
  compiler?: YaraCompiler;
}

export function createRulePreparation({ settings, log, compiler: given }: RulePreparationDeps) {
  const compiler =
    given ??
    createYaraCompiler({
      onUnavailable: (reason) => log.warn(`${reason}; rules are not checked before sending, VirusTotal's answer judges them`),
    });

  return {
    /**
     * What VirusTotal is to hold for this content, checked by the compiler. A rule it refuses
     * fails the step exactly as VirusTotal's 400 would (permanent for this pattern), before any request.
     */
    prepare(internalId: string, content: RulesetContent, { quiet = false } = {}): PreparedRules {
      let prepared: PreparedRules;
      try {
        prepared = prepareRules(content.rules, { newFilesOnly: settings.newFilesOnly }, compiler);
      } catch (error) {
        if (!(error instanceof RuleRefused)) throw error;
        log.warn('rule refused before sending it to VirusTotal', { internalId, error: error.message });
        throw ApplicationFailure.create({ message: error.message, type: INVALID_RULE, nonRetryable: true, details: ['yara-x'] });
      }
      // Periodic checks stay quiet: the warnings were said when the rule was sent.
      if (prepared.warnings.length > 0 && !quiet)
        log.warn('the YARA-X compiler warns about the rule (sent anyway)', { internalId, warnings: prepared.warnings });
      return prepared;
    },

    /** Kept with the content in the workflow's state: what was asked of VirusTotal and the compiler's warnings. */
    compiled: (content: RulesetContent, prepared: PreparedRules): RulesetContent => ({
      ...content,
      compiled: { matchObjectType: prepared.matchObjectType, warnings: prepared.warnings },
    }),

    /** The attributes a create or an update sends. */
    write: (content: RulesetContent, prepared: PreparedRules): RulesetWrite => ({
      name: content.name,
      rules: prepared.rules,
      enabled: true,
      limit: settings.rulesetLimit,
      notificationEmails: content.notificationEmails,
      matchObjectType: prepared.matchObjectType,
    }),
  };
}
