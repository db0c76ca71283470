/**
 * CORS for the OpenAI-compatible API: any origin may call it from a browser, without credentials
 * (the API key travels in a header, never a cookie), and the headers a browser client needs are
 * exposed. /graphql has its own, stricter policy (schema/server.ts).
 */

export const PREFLIGHT_MAX_AGE_SECONDS = 600;
const EXPOSED_HEADERS = [
  'x-request-id',
  'retry-after',
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-tokens',
].join(', ');
const DEFAULT_ALLOWED_HEADERS = 'authorization, content-type, x-api-key';

export function isCorsPath(path: string): boolean {
  return path.startsWith('/v1/');
}

/** Added to every answer of a /v1 route, success or error. */
export const CORS_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': EXPOSED_HEADERS,
};

/** The answer to a browser's preflight: the request headers it asks for are allowed (no credentials). */
export function preflight(request: Request, method: string): Response {
  const asked = request.headers.get('access-control-request-headers');
  return new Response(null, {
    status: 204,
    headers: {
      'access-control-allow-origin': '*',
      'access-control-allow-methods': `${method}, OPTIONS`,
      'access-control-allow-headers': asked && /^[A-Za-z0-9, -]{1,1000}$/.test(asked) ? asked : DEFAULT_ALLOWED_HEADERS,
      'access-control-max-age': String(PREFLIGHT_MAX_AGE_SECONDS),
    },
  });
}
