/**
 * The one error type of the gateway and its one formatter. Statuses are the contract with the
 * official OpenAI SDKs, which pick their error class from the status and retry 408/409/429/5xx
 * unless told `x-should-retry: false`.
 */

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'insufficient_quota'
  | 'rate_limit_error'
  | 'not_found_error'
  | 'server_error'
  | 'upstream_error';

const TYPE_BY_STATUS: Record<number, ErrorType> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'insufficient_quota',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
};

/** Our own 503s are not the upstream's doing, whatever their status says. */
const TYPE_BY_CODE: Partial<Record<ErrorCode, ErrorType>> = {
  service_unavailable: 'server_error',
  payments_not_configured: 'server_error',
};

/**
 * Every `code` the gateway answers with, in one place: a client may branch on these, so a new one is
 * a deliberate addition here, never a string made up at the call site.
 */
export type ErrorCode =
  // 400, 405, 408, 413, 415: the request itself
  | 'invalid_json'
  | 'invalid_request'
  | 'invalid_payload'
  | 'request_too_large'
  | 'request_timeout'
  | 'invalid_host'
  | 'invalid_path'
  | 'method_not_allowed'
  | 'unsupported_media_type'
  | 'missing_signature'
  | 'invalid_signature'
  | 'stale_signature'
  // 401, 402, 403: who is asking and what they may spend
  | 'missing_api_key'
  | 'invalid_api_key'
  | 'revoked_api_key'
  | 'expired_api_key'
  | 'insufficient_quota'
  | 'origin_not_allowed'
  | 'model_not_allowed'
  | 'account_suspended'
  | 'tenant_suspended'
  // 404, 429
  | 'not_found'
  | 'model_not_found'
  | 'rate_limit_exceeded'
  // 499, 5xx: the client left, we failed, or the upstream did
  | 'client_closed_request'
  | 'internal_error'
  | 'service_unavailable'
  | 'payments_not_configured'
  | 'webhook_failed'
  | 'upstream_error'
  | 'upstream_bad_request'
  | 'upstream_auth_failed'
  | 'upstream_rate_limited'
  | 'upstream_refused'
  | 'upstream_unavailable'
  | 'upstream_unreachable'
  | 'upstream_timeout'
  | 'upstream_disconnected'
  | 'upstream_invalid_response';

export class GatewayError extends Error {
  readonly type: ErrorType;
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.type =
      TYPE_BY_CODE[code] ??
      TYPE_BY_STATUS[status] ??
      (status >= 500 ? (status === 500 ? 'server_error' : 'upstream_error') : 'invalid_request_error');
  }
}

export function errorBody(error: GatewayError): {
  error: { message: string; type: ErrorType; param: string | null; code: string };
} {
  return { error: { message: error.message, type: error.type, param: error.param, code: error.code } };
}

/** The database is unreachable or not answering: retryable, and never a hang. */
export const serviceUnavailable = () =>
  new GatewayError(503, 'service_unavailable', 'The service is temporarily unavailable. Please retry shortly.');

export const insufficientCredit = (message: string) =>
  new GatewayError(402, 'insufficient_quota', message, null, { 'x-should-retry': 'false' });
