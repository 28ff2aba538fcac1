/**
 * Finding a ruleset that already exists, so none is made twice: the one an earlier attempt of a
 * create made (a 504 after commit, a worker that died before reporting), and the one the Python
 * connector made for the same indicator (adoption). Only rulesets this account owns qualify.
 */
import { indicatorWorkflowId } from '../domain/indicator';
import type { RulesetContent } from '../domain/ruleset';
import type { LegacyRulesetIndex } from './legacy-rulesets';
import type { RemoteRuleset, VirusTotalClient } from './virustotal-client';

/** How far back a retried create looks for its own ruleset, beyond the first attempt's schedule time. */
export const CLOCK_SKEW_SECONDS = 300;

export class RulesetLookup {
  constructor(
    private readonly client: VirusTotalClient,
    private readonly legacy: LegacyRulesetIndex,
    /** Workflow ids of running indicator workflows that record a ruleset id (Temporal visibility). */
    private readonly rulesetHolders?: (rulesetId: string) => Promise<string[]>,
  ) {}

  /** A ruleset someone else owns and merely shares with this account is never taken over. */
  readonly ownedByUs = async (rulesetId: string): Promise<boolean> => {
    const owner = await this.client.owner(rulesetId);
    return owner !== undefined && owner === (await this.client.currentUser());
  };

  /**
   * A ruleset this connector's earlier attempt may have created: owned, exactly this name and
   * these rules, created since the first attempt. The list filter matches whole words and is only
   * a candidate search, so names and rules are compared exactly; newest first, so the search
   * stops at the first ruleset older than the attempt instead of reading every page.
   */
  readonly findRecent = async (content: RulesetContent, rules: string, createdSince: number): Promise<RemoteRuleset | undefined> => {
    const words = content.name.match(/[A-Za-z0-9]+/g) ?? [];
    const filter = words.map((word) => `name:${word}`).join(' ') || undefined;
    for await (const candidate of this.client.listRulesets(filter, 'creation_date-')) {
      if ((candidate.creationDate ?? 0) < createdSince) break;
      // An earlier attempt sent the prepared text (restricted to new files when configured).
      if (candidate.name !== content.name || candidate.rules !== rules) continue;
      if (await this.ownedByUs(candidate.id)) return candidate;
    }
    return undefined;
  };

  /** A ruleset the previous connector made for this content, still there, owned, and held by no other indicator. */
  readonly findLegacy = async (internalId: string, content: RulesetContent): Promise<RemoteRuleset | undefined> => {
    for (const id of await this.legacy.candidates(content, internalId)) {
      const holders = (await this.rulesetHolders?.(id)) ?? [];
      if (holders.some((workflowId) => workflowId !== indicatorWorkflowId(internalId))) continue;
      const current = await this.client.getRuleset(id);
      if (!current) {
        this.legacy.forget(id);
        continue;
      }
      if (current.name !== content.name || current.rules !== content.rules || !(await this.ownedByUs(id))) continue;
      this.legacy.claim(id, internalId);
      return current;
    }
    return undefined;
  };
}
