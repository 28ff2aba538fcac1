/**
 * What the indicator workflow puts in payloads of its own: the next run's input when it continues
 * as new, and the `state` query's answer. A pattern may be up to 1 MiB (VirusTotal's limit) and is
 * usually the ruleset's rules text as well; Temporal refuses a payload over 2 MiB, so the text is
 * put there once.
 */
import type { IndicatorEvent } from '../domain/indicator';
import { utf8Length } from '../domain/limits';
import type { IndicatorWorkflowInput, IndicatorWorkflowState } from './definitions';

export type Carried = NonNullable<IndicatorWorkflowInput['carried']>;

export function pack(state: IndicatorWorkflowState, queue: IndicatorEvent[], reapplyRequested: boolean): Carried {
  const carried = { ...state, queued: queue.length };
  const patternIsRules =
    state.indicator !== undefined && state.ruleset !== undefined && state.indicator.pattern === state.ruleset.content.rules;
  if (patternIsRules) carried.indicator = { ...state.indicator!, pattern: '' };
  return { state: carried, queue: [...queue], reapplyRequested, ...(patternIsRules ? { patternIsRules } : {}) };
}

export function unpack(carried: Carried | undefined): IndicatorWorkflowState | undefined {
  if (!carried) return undefined;
  const { state } = carried;
  if (carried.patternIsRules && state.indicator && state.ruleset)
    state.indicator = { ...state.indicator, pattern: state.ruleset.content.rules };
  return state;
}

/** Past this, a rules text equal to the indicator's pattern is left out of the `state` query's answer. */
const LARGE_RULES_BYTES = 256 * 1024;

/** The `state` query's answer: with a large pattern, the rules once, and `ruleset.rulesSameAsPattern` says so. */
export function view(state: IndicatorWorkflowState, queued: number): IndicatorWorkflowState {
  const { indicator, ruleset } = state;
  const large =
    indicator !== undefined && indicator.pattern.length > LARGE_RULES_BYTES / 4 && utf8Length(indicator.pattern) > LARGE_RULES_BYTES;
  if (large && ruleset && ruleset.content.rules === indicator.pattern) {
    return { ...state, queued, ruleset: { ...ruleset, content: { ...ruleset.content, rules: '' }, rulesSameAsPattern: true } };
  }
  return { ...state, queued };
}
