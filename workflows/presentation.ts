/**
 * How an indicator workflow describes itself in the Temporal Web UI, beyond its id: the current
 * details (workflow page, "Current Details"), and the summaries of its activities and timers.
 * Pure functions of the workflow's state: workflow code imports this module, and the details are
 * recomputed from the carried state after continue-as-new (static metadata is not carried).
 */
import { truncateUtf8 } from '../domain/limits';
import type { IndicatorWorkflowState } from './definitions';

const MAX_DETAILS_BYTES = 4096;

/** Summaries must stay one short line. */
const MAX_NAME = 120;

export function shortName(name: string | undefined): string {
  const clean = (name ?? '').replace(/\s+/g, ' ').trim();
  if (!clean) return '(unnamed indicator)';
  return clean.length > MAX_NAME ? `${clean.slice(0, MAX_NAME - 1)}…` : clean;
}

/** Markdown, as the Web UI renders it. */
export function currentDetails(state: IndicatorWorkflowState): string {
  const lines = [`**${shortName(state.indicator?.name)}**: ${state.status}`, '', state.reason];
  if (state.ruleset) lines.push('', `Livehunt ruleset: \`${state.ruleset.id}\``);
  if (state.lastError) lines.push('', `Last error: ${state.lastError.message}`);
  lines.push('', `OpenCTI internal id: \`${state.internalId}\``);
  // A reason or error quotes VirusTotal or the compiler: bounded, whatever they sent.
  return truncateUtf8(lines.join('\n'), MAX_DETAILS_BYTES);
}

export const activitySummary = {
  create: (name: string | undefined) => `create ruleset ${shortName(name)}`,
  update: (name: string | undefined) => `update ruleset ${shortName(name)}`,
  delete: (rulesetId: string, name: string | undefined) => `delete ruleset ${rulesetId} (${shortName(name)})`,
  verify: (name: string | undefined) => `verify ruleset ${shortName(name)} (drift check)`,
  releaseLegacy: (name: string | undefined) => `remove the previous connector's ruleset ${shortName(name)}`,
};

export const DRIFT_CHECK_TIMER = 'next drift check';
