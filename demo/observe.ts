/**
 * What the demo reports is read back from where it ended up, never assumed: the rulesets from the
 * VirusTotal emulator, each indicator's workflow from Temporal.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { indicatorWorkflowId } from '../domain/indicator';
import type { StoredRuleset, VirusTotalEmulator } from '../emulators/virustotal';
import { RULESET_ID, STATUS } from '../workflows/search-attributes';
import type { PlayedIndicator } from './scenario';

export interface WorkflowView {
  /** Temporal's execution status: RUNNING, COMPLETED, ... */
  status: string;
  /** The connector's own status (LivehuntStatus search attribute): active, inactive, deleted, ... */
  livehuntStatus?: string;
  /** The ruleset the workflow says it owns (LivehuntRulesetId search attribute). */
  rulesetId?: string;
}

export interface Observation {
  rulesets: StoredRuleset[];
  /** By internal id; undefined when the indicator has no workflow. */
  workflows: Map<string, WorkflowView | undefined>;
}

async function viewWorkflow(client: Client, internalId: string): Promise<WorkflowView | undefined> {
  try {
    const description = await client.workflow.getHandle(indicatorWorkflowId(internalId)).describe();
    const livehuntStatus = description.typedSearchAttributes.get(STATUS);
    const rulesetId = description.typedSearchAttributes.get(RULESET_ID);
    return {
      status: description.status.name,
      ...(livehuntStatus !== undefined ? { livehuntStatus } : {}),
      ...(rulesetId ? { rulesetId } : {}),
    };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}

export async function observe(vt: VirusTotalEmulator, client: Client, played: PlayedIndicator[]): Promise<Observation> {
  const views = await Promise.all(
    played.map(async (indicator) => [indicator.internalId, await viewWorkflow(client, indicator.internalId)] as const),
  );
  return { rulesets: vt.rulesets(), workflows: new Map(views) };
}

/**
 * VirusTotal holds exactly these rulesets, with these rules, each shared with every editor.
 * Creating a ruleset and sharing it are two requests, so a ruleset without its editors is not done yet.
 */
export function holdsExactly(rulesets: StoredRuleset[], expected: Map<string, string>, editorCount: number): boolean {
  if (rulesets.length !== expected.size) return false;
  return rulesets.every((ruleset) => expected.get(ruleset.name) === ruleset.rules && ruleset.editors.length === editorCount);
}

/** Every workflow is where the scenario leaves it: running for a live ruleset, completed otherwise, absent for non-YARA. */
export function workflowsSettled(observation: Observation, played: PlayedIndicator[]): boolean {
  return played.every((indicator) => {
    const view = observation.workflows.get(indicator.internalId);
    switch (indicator.expected.workflow) {
      case 'none':
        return view === undefined;
      case 'completed':
        return view?.status === 'COMPLETED';
      case 'running': {
        const ruleset = observation.rulesets.find((r) => r.name === indicator.name);
        return view?.status === 'RUNNING' && view.livehuntStatus === 'active' && ruleset !== undefined && view.rulesetId === ruleset.id;
      }
    }
  });
}
