/**
 * Turns a VirusTotal failure into what Temporal should do with the activity:
 * never retry a rule VirusTotal rejected, retry everything else, and shout about credentials.
 */
import { ApplicationFailure } from '@temporalio/common';
import { INVALID_RULE } from '../domain/failures';
import type { Logger } from '../common/logger';
import { MAX_RETRY_AFTER_MS, VirusTotalError } from './virustotal-client';

export interface StepKind {
  /** What the step was doing, for logs ("create a ruleset"). */
  what: string;
  /** The step sent rules text: a 400 then means VirusTotal rejected the rule, which no retry fixes. */
  sendsRules?: boolean;
}

export function toActivityFailure(error: unknown, log: Logger, step: StepKind): Error {
  if (!(error instanceof VirusTotalError)) return error as Error;
  // Capped again here: whatever set retryAfterMs, no wait may outlast the retry policy's interval.
  const retryDelay = error.retryAfterMs !== undefined ? Math.min(MAX_RETRY_AFTER_MS, Math.max(error.retryAfterMs, 100)) : undefined;
  switch (error.kind) {
    case 'invalid':
      if (step.sendsRules)
        return ApplicationFailure.create({
          message: error.message,
          type: INVALID_RULE,
          nonRetryable: true,
          details: [error.status, error.code],
        });
      // Anything else VirusTotal refuses is not the indicator's fault: keep trying, loudly,
      // rather than fail the workflow and lose track of the ruleset.
      log.error(`VirusTotal refused a request while trying to ${step.what}; will retry`, {
        status: error.status,
        code: error.code,
        error: error.message,
      });
      return ApplicationFailure.create({ message: error.message, type: 'VirusTotalRejected' });
    case 'auth':
      // Retried (with the activity's capped backoff) so nothing is dropped while the key is fixed.
      log.error(
        `VirusTotal refused the API key while trying to ${step.what}: check VIRUSTOTAL_LIVEHUNT_TOKEN and its Livehunt privilege; will retry`,
        { status: error.status, code: error.code },
      );
      return ApplicationFailure.create({ message: error.message, type: 'VirusTotalAuth' });
    case 'redirect':
      // Retried (capped backoff) like a bad key: the operator fixes the URL, nothing is dropped.
      log.error(
        `VirusTotal answered with a redirect while trying to ${step.what}; not followed (the API key would go along): check VIRUSTOTAL_LIVEHUNT_API_URL; will retry`,
        { status: error.status, error: error.message },
      );
      return ApplicationFailure.create({ message: error.message, type: 'VirusTotalRedirect' });
    case 'oversized':
      log.error(`VirusTotal's answer was too large while trying to ${step.what}; not read: check VIRUSTOTAL_LIVEHUNT_API_URL; will retry`, {
        status: error.status,
        error: error.message,
      });
      return ApplicationFailure.create({ message: error.message, type: 'VirusTotalOversized' });
    case 'quota':
      return ApplicationFailure.create({ message: error.message, type: 'VirusTotalQuota', nextRetryDelay: retryDelay });
    default:
      return ApplicationFailure.create({ message: error.message, type: 'VirusTotalUnavailable', nextRetryDelay: retryDelay });
  }
}
