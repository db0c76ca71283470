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
const TYPE_BY_CODE: Record<string, ErrorType> = {
  service_unavailable: 'server_error',
  payments_not_configured: 'server_error',
};

export class GatewayError extends Error {
  readonly type: ErrorType;
  constructor(
    readonly status: number,
    readonly code: string,
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
