/**
 * The quarantine: stream events Temporal refused for good (a payload over its limit, an id it
 * cannot store), recorded so an operator can list them, while the starter moves on. One long-lived
 * workflow per task queue; it keeps the most recent entries and the total count, and continues as
 * new before its history grows large. Records carry what identifies the event, never its payload
 * (which is what Temporal refused).
 */
import { condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { quarantineEventSignal, quarantineQuery, releaseQuarantineSignal, type QuarantineEntry, type QuarantineState } from './definitions';

/** Entries kept; the oldest go first (the total still counts them). */
const KEPT = 500;
/** Records per run before continuing as new, so the history stays small. */
const RECORDS_PER_RUN = 1000;

export async function quarantineWorkflow(carried?: QuarantineState): Promise<void> {
  const state: QuarantineState = { total: carried?.total ?? 0, entries: [...(carried?.entries ?? [])] };
  let recordedThisRun = 0;

  setHandler(quarantineEventSignal, (entry: QuarantineEntry) => {
    state.total++;
    recordedThisRun++;
    state.entries.push(entry);
    if (state.entries.length > KEPT) state.entries.splice(0, state.entries.length - KEPT);
  });
  // Once an operator has dealt with an entry (fixed the indicator, replayed the stream) it can go.
  setHandler(releaseQuarantineSignal, (internalId?: string) => {
    state.entries = internalId === undefined ? [] : state.entries.filter((entry) => entry.internalId !== internalId);
  });
  setHandler(quarantineQuery, () => state);

  await condition(() => recordedThisRun >= RECORDS_PER_RUN || workflowInfo().continueAsNewSuggested);
  await continueAsNew<typeof quarantineWorkflow>(state);
}
