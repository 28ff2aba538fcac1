/**
 * Recorded workflow histories: the replay tests run them through the current workflow code, so a
 * change that would break running workflows (non-determinism) fails a test instead of production.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from './temporal';

export const HISTORY_DIR = path.resolve(__dirname, '../fixtures/histories');

export async function fetchHistories(client: Client, workflows: Array<{ workflowId: string; runId?: string }>) {
  return Promise.all(
    workflows.map(async ({ workflowId, runId }) => ({
      workflowId,
      history: await client.workflow.getHandle(workflowId, runId).fetchHistory(),
    })),
  );
}

export function saveHistories(
  histories: Array<{ workflowId: string; history: Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>> }>,
  names: string[],
): void {
  histories.forEach(({ history }, index) => writeFileSync(path.join(HISTORY_DIR, `${names[index]}.json`), historyToJSON(history)));
}

export function loadRecordedHistories(): Array<{ workflowId: string; history: ReturnType<typeof historyFromJSON> }> {
  return readdirSync(HISTORY_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({
      workflowId: file.replace(/\.json$/, ''),
      history: historyFromJSON(JSON.parse(readFileSync(path.join(HISTORY_DIR, file), 'utf8'))),
    }));
}

/** Replays every history; returns the failures as "workflowId: message". */
export async function replayAll(histories: Array<{ workflowId: string; history: unknown }>): Promise<string[]> {
  const failures: string[] = [];
  const results = Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories as never);
  for await (const result of results) if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  return failures;
}
