import { isConnectionError } from '../db/sql.ts';
import { GatewayError, serviceUnavailable } from '../core/errors.ts';
import { openAiErrors } from '../protocols/openai/errors.ts';

/** The runner's half of the error vocabulary (core/errors.ts): the one response, and the net under every plugin. */

/** An error outside any route's pipeline (no route matched, a preflight failed): OpenAI's shape. */
export function errorResponse(error: GatewayError, requestId: string): Response {
  return openAiErrors.response(error, requestId);
}

/** No route has this path (see gateway/request-target.ts for how a path is matched). */
export const notFound = () => new GatewayError(404, 'not_found', 'No such route. See /v1/models for the API.');

/** Anything that is not a GatewayError is a bug or an outage: say so without details. */
export function asGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  // A plugin reading the database (policies, prices) while it is unreachable: retryable, not a bug.
  if (isConnectionError(error)) return serviceUnavailable();
  return new GatewayError(
    500,
    'internal_error',
    'The gateway failed to process this request. It has been logged; please retry.',
  );
}
