// VirusTotal's error envelope: {"error": {"code", "message"}} with a JSON content type, for
// every failure. Handlers throw ApiError; the server turns it into the envelope.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

export const badRequest = (message: string): ApiError => new ApiError(400, 'BadRequestError', message);
export const invalidArgument = (message: string): ApiError => new ApiError(400, 'InvalidArgumentError', message);
export const forbidden = (message = 'You are not authorized to perform the requested operation'): ApiError =>
  new ApiError(403, 'ForbiddenError', message);
// VT's generic not-found text; used both for unknown ids and for rulesets the caller may not see,
// so that a caller cannot probe for the existence of other users' rulesets.
export const notFound = (id: string): ApiError => new ApiError(404, 'NotFoundError', `Resource "${id}" not found`);

/** Code used by an injected fault when the rule names none. */
export function defaultFaultCode(status: number): string {
  switch (status) {
    case 400:
      return 'BadRequestError';
    case 401:
      return 'WrongCredentialsError';
    case 403:
      return 'ForbiddenError';
    case 429:
      return 'QuotaExceededError';
    case 503:
      return 'TransientError';
    case 504:
      return 'DeadlineExceededError';
    case 502:
      return 'BadGatewayError';
    default:
      return 'InternalError';
  }
}

export function defaultFaultMessage(status: number): string {
  switch (status) {
    case 400:
      return 'Bad request';
    case 401:
      return 'Wrong API key';
    case 403:
      return 'You are not authorized to perform the requested operation';
    case 429:
      return 'Quota exceeded';
    case 503:
      return 'Transient error, retry might work';
    case 504:
      return 'Operation took too long to complete';
    case 502:
      return 'Bad gateway';
    default:
      return 'Internal server error';
  }
}
