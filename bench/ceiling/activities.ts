/**
 * No-op activities for the ceiling: they only count, so the worker process can report when the
 * last one finished (the moment the connector's equivalent would have VirusTotal hold a ruleset).
 */
export interface CompletionCounter {
  completed: number;
  lastCompletedAt: number;
}

export function createCeilingActivities(counter: CompletionCounter) {
  return {
    async settings(): Promise<{ verifyIntervalMs: number }> {
      return { verifyIntervalMs: 86_400_000 };
    },
    async apply(internalId: string): Promise<string> {
      counter.completed++;
      counter.lastCompletedAt = Date.now();
      return `ruleset-${internalId}`;
    },
  };
}

export type CeilingActivities = ReturnType<typeof createCeilingActivities>;
