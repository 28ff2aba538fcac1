/**
 * Stopping on SIGTERM/SIGINT at any moment, start-up included. Start-up can wait for a long time
 * (an unreachable OpenCTI is retried forever, a silent Temporal address takes its connect
 * timeout), and a container orchestrator sending SIGTERM must not have to fall back to SIGKILL.
 * Nothing is in flight before start-up ends, so interrupting it needs no draining.
 */
import type { Logger } from './logger';

/** Exit codes of the entry points (README, "Running it"). */
export const EXIT_STOPPED = 0; // stopped by SIGTERM/SIGINT, during start-up or after
export const EXIT_FAILED = 1; // start-up or run failed
export const EXIT_CONFIG = 78; // bad configuration (EX_CONFIG)

export class Interrupted extends Error {
  constructor() {
    super('interrupted by a stop signal');
    this.name = 'Interrupted';
  }
}

/** `promise`, or an Interrupted rejection as soon as `signal` aborts (the promise is left to run out). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new Interrupted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Interrupted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Waits `ms`, or rejects with Interrupted when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return untilAborted(new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))), signal).finally(() => clearTimeout(timer));
}

export interface StopSignals {
  /** Aborted by the first SIGTERM/SIGINT received before running() was called. */
  readonly startup: AbortSignal;
  /** Start-up is over: from now on a signal calls `onStop` instead. */
  running(onStop: (signal: NodeJS.Signals) => void): void;
}

/**
 * Installs the SIGTERM/SIGINT handlers at once. A signal during start-up aborts `startup`;
 * the entry point then releases what it opened and exits with EXIT_STOPPED.
 */
export function handleStopSignals(log: Logger): StopSignals {
  const controller = new AbortController();
  let onStop: ((signal: NodeJS.Signals) => void) | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (onStop) return onStop(signal);
    if (controller.signal.aborted) return;
    log.info('stop signal received during start-up; stopping', { signal });
    controller.abort();
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return {
    startup: controller.signal,
    running: (callback) => {
      onStop = callback;
    },
  };
}
