/**
 * The one exponential backoff of the connector's own retry loops (Temporal retries activities by
 * its own policy): `firstMs` doubled per attempt up to `maxMs`, optionally with jitter so that
 * many retries started together (a reconnection storm, a burst of deliveries) spread out.
 */
export interface Backoff {
  firstMs: number;
  maxMs: number;
  /** Multiply by a random factor in [0.5, 1). */
  jitter?: boolean;
}

/** Delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(attempt: number, { firstMs, maxMs, jitter = false }: Backoff): number {
  // Capped exponent: 2^20 times any first delay is past every cap used here, and no Infinity.
  const delay = Math.min(maxMs, firstMs * 2 ** Math.min(Math.max(attempt, 0), 20));
  return jitter ? delay * (0.5 + Math.random() / 2) : delay;
}
