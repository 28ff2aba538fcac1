/**
 * Sharing a ruleset with the configured editors (VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS): only the
 * missing ones are added, in one request.
 */
import type { Logger } from '../common/logger';
import { editorKey, type Editor } from '../domain/ruleset';
import { VirusTotalError, type VirusTotalClient } from './virustotal-client';

export function createSharing({ client, editors, log }: { client: VirusTotalClient; editors: Editor[]; log: Logger }) {
  /** Adds the configured editors that are missing; `known` skips the listing on a fresh ruleset. */
  async function share(rulesetId: string, known?: Editor[]): Promise<void> {
    if (editors.length === 0) return;
    const present = new Set((known ?? (await client.listEditors(rulesetId))).map(editorKey));
    const missing = editors.filter((editor) => !present.has(editorKey(editor)));
    await client.addEditors(rulesetId, missing);
  }

  return {
    /**
     * Shares, but a refusal of the editors themselves (an unknown user or group) must not lose the
     * ruleset: it is reported and the ruleset kept. Transient failures still fail the attempt.
     */
    async shareKeeping(rulesetId: string, known?: Editor[]): Promise<string | undefined> {
      try {
        await share(rulesetId, known);
        return undefined;
      } catch (error) {
        if (!(error instanceof VirusTotalError) || (error.kind !== 'invalid' && error.kind !== 'not-found')) throw error;
        log.error(
          'VirusTotal refused the editors: check VIRUSTOTAL_LIVEHUNT_SHARED_OWNERS (users by name, groups as group:NAME); the ruleset is kept unshared',
          { rulesetId, error: error.message },
        );
        return error.message;
      }
    },
  };
}
