/**
 * The rulesets that already existed in the account when this worker first needed them: the
 * candidates for adoption (rulesets the Python connector made). Read once per worker, with full
 * pagination, then consulted in memory, so adoption costs a few requests per worker instead of a
 * list request per indicator. Rulesets created after that are never candidates, which is right:
 * the ones this connector made belong to other workflows.
 */
import { createHash } from 'node:crypto';
import type { RulesetContent } from '../domain/ruleset';
import type { VirusTotalClient } from './virustotal-client';

function key(name: string, rules: string): string {
  return `${name}\u0000${createHash('sha256').update(rules).digest('hex')}`;
}

export class LegacyRulesetIndex {
  private index?: Promise<Map<string, string[]>>;
  /** ruleset id → internal id of the indicator that adopted it (two indicators never share one). */
  private readonly claims = new Map<string, string>();

  constructor(private readonly client: VirusTotalClient) {}

  private load(): Promise<Map<string, string[]>> {
    this.index ??= (async () => {
      const byContent = new Map<string, string[]>();
      for await (const ruleset of this.client.listRulesets()) {
        const k = key(ruleset.name, ruleset.rules);
        byContent.set(k, [...(byContent.get(k) ?? []), ruleset.id]);
      }
      return byContent;
    })().catch((error: unknown) => {
      this.index = undefined; // read again on the next attempt
      throw error;
    });
    return this.index;
  }

  async warmUp(): Promise<void> {
    await this.load();
  }

  /** Ids with exactly this name and rules, not adopted by another indicator. Owner not checked. */
  async candidates(content: RulesetContent, internalId: string): Promise<string[]> {
    const ids = (await this.load()).get(key(content.name, content.rules)) ?? [];
    return ids.filter((id) => (this.claims.get(id) ?? internalId) === internalId);
  }

  claim(rulesetId: string, internalId: string): void {
    this.claims.set(rulesetId, internalId);
  }

  /** A ruleset that no longer exists (deleted by the connector or by hand) is no candidate. */
  forget(rulesetId: string): void {
    this.claims.delete(rulesetId);
    void this.index?.then(
      (byContent) => {
        for (const [k, ids] of byContent)
          if (ids.includes(rulesetId))
            byContent.set(
              k,
              ids.filter((id) => id !== rulesetId),
            );
      },
      () => undefined,
    );
  }
}
