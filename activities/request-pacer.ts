/**
 * Spaces this worker's VirusTotal requests evenly under the request budget. The task-queue rate
 * limit bounds activities across all workers, but it admits them in bursts and an activity makes
 * one to three requests, so on its own it lets VirusTotal see more than the budget in some second
 * and answer 429. Pacing each request smooths that out.
 */
export class RequestPacer {
  private readonly intervalMs: number;
  private next = 0;

  /** A small margin below the budget absorbs timer jitter and the quota window's edges. */
  constructor(requestsPerSecond: number, margin = 0.97) {
    this.intervalMs = 1000 / (requestsPerSecond * margin);
  }

  /** Resolves when this request may be sent; slots are handed out in call order. */
  async take(): Promise<void> {
    const now = Date.now();
    const slot = Math.max(now, this.next);
    this.next = slot + this.intervalMs;
    if (slot > now) await new Promise((resolve) => setTimeout(resolve, slot - now));
  }
}
