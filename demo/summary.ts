/**
 * The text the demo ends with. Pure formatting of what was observed; the section titles are
 * stable because the end-to-end test reads the ruleset table back.
 */
import { ruleNames, type StoredRuleset } from '../emulators/virustotal';
import { indicatorWorkflowId } from '../domain/indicator';
import type { Observation } from './observe';
import type { PlayedIndicator } from './scenario';

export const RULESETS_TITLE = 'VirusTotal now holds these Livehunt rulesets';
export const WORKFLOW_LIST_LABEL = 'All workflows:';

export interface SummaryInput {
  elapsedMs: number;
  openCtiUrl: string;
  virusTotalUrl: string;
  /** Web UI base URL, e.g. http://127.0.0.1:8233. */
  webUiUrl: string;
  namespace: string;
  played: PlayedIndicator[];
  /** VirusTotal after the first phase, to tell a recreated or removed ruleset from one never made. */
  before: StoredRuleset[];
  now: Observation;
}

/** Left-aligned columns two spaces apart; the last column is not padded. */
export function table(rows: string[][], indent = '  '): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.length)));
  return rows
    .map((row) => indent + row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0))).join('  '))
    .join('\n');
}

export function workflowListUrl(webUiUrl: string, namespace: string): string {
  return `${webUiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows`;
}

export function workflowUrl(webUiUrl: string, namespace: string, internalId: string): string {
  return `${workflowListUrl(webUiUrl, namespace)}/${encodeURIComponent(indicatorWorkflowId(internalId))}`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** Ids are in the ruleset table above; this column says what happened to the indicator's ruleset. */
function inVirusTotal(indicator: PlayedIndicator, input: SummaryInput): string {
  const now = input.now.rulesets.find((r) => r.name === indicator.name);
  const earlier = input.before.find((r) => r.name === indicator.name);
  if (now) return earlier && earlier.id !== now.id ? `ruleset ${now.id} (recreated)` : `ruleset ${now.id}`;
  return earlier ? `ruleset ${earlier.id} removed` : 'no ruleset';
}

function workflowCell(indicator: PlayedIndicator, input: SummaryInput): string {
  const view = input.now.workflows.get(indicator.internalId);
  if (!view) return 'none (ignored)';
  return [view.status.toLowerCase(), view.livehuntStatus].filter(Boolean).join(', ');
}

export function formatSummary(input: SummaryInput): string {
  const rulesets = [...input.now.rulesets].sort((a, b) => a.name.localeCompare(b.name));
  const lines: string[] = [];
  const rule = '='.repeat(100);
  lines.push(rule, `Demo summary: everything below was reached ${(input.elapsedMs / 1000).toFixed(1)} s after the demo started.`, '');

  lines.push(`${RULESETS_TITLE} (${plural(rulesets.length, 'ruleset')}; emulator at ${input.virusTotalUrl}):`);
  lines.push(
    table([
      ['NAME', 'ID', 'RULES', 'NOTIFICATION E-MAILS', 'EDITORS'],
      ...rulesets.map((r) => [
        r.name,
        r.id,
        String(ruleNames(r.rules).length),
        r.notification_emails.join(', ') || '-',
        r.editors.map((e) => `${e.type}:${e.id}`).join(', ') || '-',
      ]),
    ]),
  );
  lines.push('');

  lines.push(`What the connector made of each object created in OpenCTI (emulator at ${input.openCtiUrl}):`);
  lines.push(
    table([
      ['INDICATOR', 'IN OPENCTI', 'IN VIRUSTOTAL', 'WORKFLOW'],
      ...input.played.map((indicator) => [indicator.name, indicator.story, inVirusTotal(indicator, input), workflowCell(indicator, input)]),
    ]),
  );
  lines.push('');

  lines.push('Temporal Web UI (one workflow per YARA indicator, id livehunt-indicator-<OpenCTI internal id>):');
  lines.push(`  ${WORKFLOW_LIST_LABEL} ${workflowListUrl(input.webUiUrl, input.namespace)}`);
  lines.push(
    table(
      input.played.map((indicator) => [
        indicator.name,
        input.now.workflows.get(indicator.internalId)
          ? workflowUrl(input.webUiUrl, input.namespace, indicator.internalId)
          : '(no workflow: the connector only handles YARA indicators)',
      ]),
      '    ',
    ),
  );
  lines.push(rule);
  return `${lines.join('\n')}\n`;
}
