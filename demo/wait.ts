/** Polling with a deadline: the demo observes the emulators and Temporal from outside, like a person would. */
export class WaitError extends Error {}

export interface WaitOptions {
  timeoutMs: number;
  everyMs?: number;
  /** Checked before every probe: a reason to give up at once (the connector exited, say). */
  abort?: () => string | undefined;
  /** What was seen instead, appended to a timeout message. */
  seen?: () => string;
}

export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const reason = options.abort?.();
    if (reason !== undefined) throw new WaitError(`gave up waiting for ${what}: ${reason}`);
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const seen = options.seen ? `; seen instead: ${options.seen()}` : '';
      const detail = `${seen}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`;
      throw new WaitError(`timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for ${what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 200));
  }
}
