import { error, type RequestEvent } from '@sveltejs/kit';
import { apiUrl } from './config';

/**
 * The portal's one GraphQL client: every page and endpoint reads and writes through here, server
 * side, so the browser never holds an API token. The session token rides as a bearer token; the
 * request's host is forwarded so the API picks the tenant of a custom domain, exactly as it would
 * for a browser calling it directly.
 */

/** How long one API call may take before the page shows an error instead of hanging. */
export const API_TIMEOUT_MS = 15_000;

export type ApiErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'INVALID_INPUT' | 'TOO_MANY_ATTEMPTS' | 'UNAVAILABLE' | 'UNKNOWN_FIELD' | 'FAILED';

const STATUS: Record<ApiErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  INVALID_INPUT: 400,
  TOO_MANY_ATTEMPTS: 429,
  UNAVAILABLE: 503,
  UNKNOWN_FIELD: 501,
  FAILED: 500,
};

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

type GraphqlError = { message: string; extensions?: { code?: string; field?: string; retryAfterSeconds?: unknown } };

/** The API's throttle (sign-in, sign-up, resets) says how long to wait; the page says it in words. */
function tooManyAttempts(retryAfterSeconds: unknown): ApiError {
  const seconds = typeof retryAfterSeconds === 'number' && Number.isFinite(retryAfterSeconds) && retryAfterSeconds > 0 ? Math.ceil(retryAfterSeconds) : null;
  const wait = seconds === null ? 'in a moment' : `in ${seconds} second${seconds === 1 ? '' : 's'}`;
  return new ApiError('TOO_MANY_ATTEMPTS', `Too many attempts. For your account's safety, try again ${wait}.`);
}

function toApiError(error: GraphqlError): ApiError {
  const code = error.extensions?.code;
  if (code === 'UNAUTHENTICATED' || code === 'FORBIDDEN' || code === 'NOT_FOUND' || code === 'INVALID_INPUT') {
    return new ApiError(code, error.message, error.extensions?.field ?? null);
  }
  if (code === 'TOO_MANY_ATTEMPTS') return tooManyAttempts(error.extensions?.retryAfterSeconds);
  // A field this API version does not have (a feature not deployed yet): pages degrade on this code.
  if (code === 'GRAPHQL_VALIDATION_FAILED' && /Cannot query field|Unknown type|Unknown argument/.test(error.message)) {
    return new ApiError('UNKNOWN_FIELD', error.message);
  }
  return new ApiError('FAILED', error.message === 'Unexpected error.' ? 'Something went wrong on our side. Try again in a moment.' : error.message);
}

/** The caller-side parts of a request the client needs; a RequestEvent has them all. */
export type ApiCaller = Pick<RequestEvent, 'locals' | 'url' | 'request' | 'getClientAddress'>;

/**
 * The host the browser asked for. adapter-node's ORIGIN (set for plain-http installs) fixes
 * `url`, so the Host header is what still tells a reseller's custom domain apart.
 */
export function tenantHost(caller: ApiCaller): string {
  return caller.request.headers.get('host') ?? caller.url.host;
}

export function forwardedHeaders(caller: ApiCaller, extra: Record<string, string> = {}): Record<string, string> {
  const host = tenantHost(caller);
  const headers: Record<string, string> = { host, 'x-forwarded-host': host, ...extra };
  try {
    headers['x-forwarded-for'] = caller.getClientAddress();
  } catch {
    // Not every adapter knows the client address (prerendering, tests); it is only informative.
  }
  if (caller.locals.session) headers.authorization = `Bearer ${caller.locals.session}`;
  return headers;
}

/** Runs one operation and returns its data; any error becomes an ApiError with the API's message. */
export async function gql<T>(caller: ApiCaller, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${apiUrl}/graphql`, {
      method: 'POST',
      headers: forwardedHeaders(caller, { 'content-type': 'application/json', accept: 'application/json' }),
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(API_TIMEOUT_MS),
    });
  } catch (failure) {
    // The operator needs the cause; the visitor gets the same calm message whatever it was.
    console.error(`portal: the API call to ${apiUrl}/graphql failed: ${failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure)}`);
    throw new ApiError('UNAVAILABLE', 'The service is unreachable right now. Try again in a moment.');
  }
  let body: { data?: T | null; errors?: GraphqlError[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new ApiError('UNAVAILABLE', `The service answered ${response.status} instead of data. Try again in a moment.`);
  }
  const first = body.errors?.[0];
  if (first) throw toApiError(first);
  if (!body.data) throw new ApiError('FAILED', 'The service answered without data.');
  return body.data;
}

/**
 * `gql` for a page's load: an answer the API gives to bad input (a hand-edited cursor, say), or
 * for something missing or not allowed, becomes an error page with that status and the API's
 * message, not a 500 "something went wrong".
 */
export async function pageQuery<T>(caller: ApiCaller, operation: string, variables: Record<string, unknown> = {}): Promise<T> {
  try {
    return await gql<T>(caller, operation, variables);
  } catch (failure) {
    if (failure instanceof ApiError && failure.status < 500 && failure.code !== 'UNAUTHENTICATED') error(failure.status, failure.message);
    throw failure;
  }
}

/** The raw streaming answer of a GraphQL subscription over SSE (for the live balance proxy). */
export async function subscribe(caller: ApiCaller, query: string, signal: AbortSignal): Promise<Response> {
  return fetch(`${apiUrl}/graphql`, {
    method: 'POST',
    headers: forwardedHeaders(caller, { 'content-type': 'application/json', accept: 'text/event-stream' }),
    body: JSON.stringify({ query }),
    signal,
  });
}

/** Calls an OpenAI-compatible /v1 endpoint of the gateway with an API key (the playground). */
export async function callV1(caller: ApiCaller, path: string, key: string, body: unknown, signal: AbortSignal): Promise<Response> {
  return fetch(`${apiUrl}/v1${path}`, {
    method: 'POST',
    headers: { host: tenantHost(caller), 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
    signal,
  });
}
