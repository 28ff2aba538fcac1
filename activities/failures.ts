/**
 * Turns a VirusTotal failure into what Temporal should do with the activity:
 * never retry a rule VirusTotal rejected, retry everything else, and shout about credentials.
 */
import { ApplicationFailure } from '@temporalio/common';
import { VirusTotalError } from './virustotal-client';
import type { Logger } from '../common/logger';

/** Failure types the workflow reacts to. Kept in sync with workflows/failures.ts by name. */
export const INVALID_RULE = 'InvalidRule';

export function toActivityFailure(error: unknown, log: Logger, what: string): Error {
  if (!(error instanceof VirusTotalError)) return error as Error;
  switch (error.kind) {
    case 'invalid':
      return ApplicationFailure.create({ message: error.message, type: INVALID_RULE, nonRetryable: true, details: [error.status, error.code] });
    case 'auth':
      // Retried (with the activity's capped backoff) so nothing is dropped while the key is fixed.
      log.error(`VirusTotal refused the API key while trying to ${what}: check VIRUSTOTAL_LIVEHUNT_TOKEN and its Livehunt privilege; will retry`, { status: error.status, code: error.code });
      return ApplicationFailure.create({ message: error.message, type: 'VirusTotalAuth' });
    case 'quota':
      return ApplicationFailure.create({
        message: error.message,
        type: 'VirusTotalQuota',
        nextRetryDelay: error.retryAfterMs !== undefined ? Math.max(error.retryAfterMs, 100) : undefined,
      });
    default:
      return ApplicationFailure.create({
        message: error.message,
        type: 'VirusTotalUnavailable',
        nextRetryDelay: error.retryAfterMs !== undefined ? Math.max(error.retryAfterMs, 100) : undefined,
      });
  }
}
