import type { GatewayError } from '../../core/errors.ts';
import type { ErrorShape } from '../protocol.ts';

/**
 * Anthropic's error shape, which its SDKs and Claude Code parse:
 * `{"type":"error","error":{"type","message"},"request_id"}` with Anthropic's statuses and types,
 * a `request-id` header, and an `error` SSE event when a stream is already under way. The gateway's
 * own 503 (no channel can take the request, the database is away) is Anthropic's 529 "overloaded",
 * which Claude Code retries.
 */

export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'timeout_error'
  | 'api_error'
  | 'overloaded_error';

const TYPE_BY_STATUS: Record<number, AnthropicErrorType> = {
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

export const OVERLOADED_STATUS = 529;

/** Anthropic's status for one of ours. */
export const anthropicStatus = (status: number): number => (status === 503 ? OVERLOADED_STATUS : status);

export function anthropicErrorType(status: number): AnthropicErrorType {
  return TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

function errorJson(
  error: GatewayError,
  status: number,
): { type: 'error'; error: { type: AnthropicErrorType; message: string } } {
  return { type: 'error', error: { type: anthropicErrorType(status), message: error.message } };
}

const encoder = new TextEncoder();

export const anthropicErrors: ErrorShape = {
  response(error, requestId) {
    const status = anthropicStatus(error.status);
    return new Response(JSON.stringify({ ...errorJson(error, status), request_id: requestId }), {
      status,
      headers: {
        'content-type': 'application/json',
        'request-id': requestId,
        'x-request-id': requestId,
        ...error.headers,
      },
    });
  },
  event: (error) =>
    encoder.encode(`event: error\ndata: ${JSON.stringify(errorJson(error, anthropicStatus(error.status)))}\n\n`),
};
