import { GatewayError } from '../../core/errors.ts';
import { redact } from '../../app/log.ts';

/**
 * Upstream failures become our own OpenAI-style errors: the upstream's meaning (status class and
 * its human message) is kept, its raw body, metadata and anything secret-looking never are.
 */

const MAX_MESSAGE_CHARS = 300;

function upstreamMessage(bodyText: string): string | undefined {
  try {
    const parsed = JSON.parse(bodyText) as { error?: { message?: unknown } | string; message?: unknown };
    const message = typeof parsed.error === 'string' ? parsed.error : (parsed.error?.message ?? parsed.message);
    return typeof message === 'string' && message.length > 0 ? redact(message).slice(0, MAX_MESSAGE_CHARS) : undefined;
  } catch {
    return undefined;
  }
}

export function upstreamError(status: number, bodyText: string, retryAfter: string | null): GatewayError {
  const detail = upstreamMessage(bodyText);
  const said = (fallback: string) => (detail ? `Upstream: ${detail}` : fallback);
  if (status === 400 || status === 422)
    return new GatewayError(400, 'upstream_bad_request', said('The upstream provider rejected the request.'));
  if (status === 401)
    return new GatewayError(
      502,
      'upstream_auth_failed',
      'The upstream provider refused the gateway. The operator has been notified.',
    );
  if (status === 402)
    return new GatewayError(
      503,
      'upstream_unavailable',
      'The upstream provider is unavailable right now. Please retry later.',
    );
  if (status === 403)
    return new GatewayError(403, 'upstream_refused', said('The upstream provider refused this request.'));
  if (status === 404)
    return new GatewayError(404, 'model_not_found', said('The upstream provider does not know this model.'), 'model');
  if (status === 408) return new GatewayError(504, 'upstream_timeout', 'The upstream provider timed out.');
  if (status === 413)
    return new GatewayError(413, 'request_too_large', said('The request is too large for the upstream provider.'));
  if (status === 429) {
    const seconds = retryAfter && /^\d+$/.test(retryAfter) ? retryAfter : '1';
    return new GatewayError(
      429,
      'upstream_rate_limited',
      said('The upstream provider is rate limiting. Retry shortly.'),
      null,
      { 'retry-after': seconds },
    );
  }
  // 529: Anthropic's "overloaded".
  if (status === 503 || status === 529)
    return new GatewayError(503, 'upstream_unavailable', said('The upstream provider is unavailable right now.'));
  return new GatewayError(502, 'upstream_error', said(`The upstream provider failed (status ${status}).`));
}

/** An error the upstream sent inside a 200 answer or as a mid-stream SSE event (OpenRouter's `code`, Anthropic's `type`). */
export function embeddedUpstreamError(payload: Record<string, unknown>): GatewayError | undefined {
  const error = payload.error;
  if (error === undefined || error === null) return undefined;
  const { code, type } =
    typeof error === 'object' && error !== null ? (error as { code?: unknown; type?: unknown }) : {};
  const status = typeof code === 'number' && code >= 400 && code < 600 ? code : type === 'overloaded_error' ? 529 : 502;
  return upstreamError(status, JSON.stringify({ error }), null);
}
