import { findHostCors, findTenantCors, type TenantCorsRow } from '../db/queries/cors-origins.ts';
import type { Sql } from '../db/sql.ts';
import { errorBody, GatewayError } from '../core/errors.ts';
import { createLookupCache } from '../app/lookup-cache.ts';

/**
 * CORS for the OpenAI-compatible API and the GraphQL API.
 *
 * /v1: any origin may call it from a browser, without credentials (the API key travels in a
 * header, never a cookie), unless the key's tenant lists its allowed origins: then only those.
 * /graphql: with credentials (the session cookie), only from the portal, the gateway's own origin,
 * the host the request came to, the tenant's custom domain and the origins the tenant adds.
 * A preflight carries no key, so it is answered for the tenant the host belongs to (else the root).
 */

export const PREFLIGHT_MAX_AGE_SECONDS = 600;
/** How long a tenant's origins are cached: a change reaches every replica within this time. */
export const CORS_CACHE_TTL_MS = 2_000;
const CORS_CACHE_LIMIT = 10_000;
/** Per list and tenant; the database checks the same bound. */
export const MAX_CORS_ORIGINS = 50;
const MAX_ORIGIN_CHARS = 300;
const EXPOSED_HEADERS = [
  'x-request-id',
  // The Anthropic SDKs read the request id from request-id (the /v1/messages routes send both).
  'request-id',
  'retry-after',
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-tokens',
].join(', ');
const API_ALLOWED_HEADERS = 'authorization, content-type, x-api-key';
const GRAPHQL_ALLOWED_HEADERS = 'authorization, content-type';
const GRAPHQL_METHODS = 'GET, POST, OPTIONS';
const ASKED_HEADERS = /^[A-Za-z0-9, -]{1,1000}$/;

export function isCorsPath(path: string): boolean {
  return path.startsWith('/v1/');
}

/** Added to every answer of a /v1 route, success or error; the cors plugin narrows it for a restricted tenant. */
export const CORS_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': EXPOSED_HEADERS,
};

/** `scheme://host[:port]` as browsers send it in `Origin` (lower-case host, no default port), or undefined. */
export function normalizeOrigin(text: string): string | undefined {
  if (text.length > MAX_ORIGIN_CHARS || !URL.canParse(text)) return undefined;
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password || url.pathname !== '/' || url.search || url.hash || text.endsWith('#'))
    return undefined;
  return url.origin;
}

/** The origins normalized and without repeats, or the first one that is not an origin. */
export function parseOrigins(
  texts: readonly string[],
): { origins: string[] } | { invalid: string } | { tooMany: true } {
  const origins = new Set<string>();
  for (const text of texts) {
    const origin = normalizeOrigin(text.trim());
    if (origin === undefined) return { invalid: text };
    origins.add(origin);
  }
  return origins.size > MAX_CORS_ORIGINS ? { tooMany: true } : { origins: [...origins] };
}

export type TenantCors = { tenantId: string; graphql: ReadonlySet<string>; api: ReadonlySet<string> };

export type CorsPolicies = {
  forTenant(tenantId: string): Promise<TenantCors | undefined>;
  /** The tenant whose custom domain this host is, else the root tenant. */
  forHost(host: string): Promise<TenantCors | undefined>;
};

function policyOf(row: TenantCorsRow | undefined): TenantCors | undefined {
  if (!row) return undefined;
  // The tenant's own domain is a portal origin of that tenant (https only: the gateway sits behind TLS there).
  const graphql = new Set(row.customDomain ? [...row.graphql, `https://${row.customDomain}`] : row.graphql);
  return { tenantId: row.tenantId, graphql, api: new Set(row.api) };
}

export function createCorsPolicies(sql: Sql, now: () => number = Date.now): CorsPolicies {
  const byTenant = createLookupCache<TenantCors | undefined>({
    ttlMs: CORS_CACHE_TTL_MS,
    maxEntries: CORS_CACHE_LIMIT,
    now,
  });
  const byHost = createLookupCache<TenantCors | undefined>({
    ttlMs: CORS_CACHE_TTL_MS,
    maxEntries: CORS_CACHE_LIMIT,
    now,
  });
  return {
    forTenant: (tenantId) => byTenant.get(tenantId, async () => policyOf(await findTenantCors(sql, tenantId))),
    forHost: (host) => byHost.get(host, async () => policyOf(await findHostCors(sql, host))),
  };
}

/** The host name a request came to, without its port. */
export function requestHost(request: Request): string {
  return (request.headers.get('host') ?? new URL(request.url).host).replace(/:\d+$/, '').toLowerCase();
}

function allowedHeaders(request: Request, fallback: string): string {
  const asked = request.headers.get('access-control-request-headers');
  return asked && ASKED_HEADERS.test(asked) ? asked : fallback;
}

/** A refused preflight: no allow-origin header, so the browser stops, and a status that says why. */
function refusedPreflight(origin: string): Response {
  const error = new GatewayError(403, 'origin_not_allowed', `Origin ${origin} may not call this API from a browser.`);
  return Response.json(errorBody(error), { status: error.status, headers: { vary: 'Origin' } });
}

/** Whether a browser on `origin` may use a key of this tenant on /v1: any origin unless the tenant lists some. */
export function apiOriginAllowed(policy: TenantCors | undefined, origin: string): boolean {
  return !policy || policy.api.size === 0 || policy.api.has(origin);
}

/**
 * Run by `auth` once the key is known: a browser on an origin the key's tenant does not list is
 * refused before anything is held or spent; on a listed one the answer names that origin.
 */
export async function admitOrigin(
  ctx: { readonly request: Request; readonly responseHeaders: Record<string, string> },
  tenantId: string,
  policies: CorsPolicies,
): Promise<void> {
  const origin = ctx.request.headers.get('origin');
  if (origin === null) return;
  const policy = await policies.forTenant(tenantId);
  if (!policy || policy.api.size === 0) return;
  if (!policy.api.has(origin)) {
    delete ctx.responseHeaders['access-control-allow-origin'];
    throw new GatewayError(403, 'origin_not_allowed', `This API key may not be used from a browser on ${origin}.`);
  }
  ctx.responseHeaders['access-control-allow-origin'] = origin;
  ctx.responseHeaders.vary = 'Origin';
}

/** The answer to a browser's preflight on a /v1 route. */
export async function apiPreflight(request: Request, method: string, policies: CorsPolicies): Promise<Response> {
  const origin = request.headers.get('origin');
  const policy = origin === null ? undefined : await policies.forHost(requestHost(request));
  if (origin !== null && !apiOriginAllowed(policy, origin)) return refusedPreflight(origin);
  const restricted = policy !== undefined && policy.api.size > 0;
  return new Response(null, {
    status: 204,
    headers: {
      'access-control-allow-origin': restricted && origin !== null ? origin : '*',
      'access-control-allow-methods': `${method}, OPTIONS`,
      'access-control-allow-headers': allowedHeaders(request, API_ALLOWED_HEADERS),
      'access-control-max-age': String(PREFLIGHT_MAX_AGE_SECONDS),
      ...(restricted ? { vary: 'Origin' } : {}),
    },
  });
}

/** Origins allowed on /graphql whatever the tenant: the portal and the gateway's own public origin. */
export function graphqlBaseOrigins(portalUrl: string, publicUrl: string): ReadonlySet<string> {
  return new Set([new URL(portalUrl).origin, new URL(publicUrl).origin]);
}

export async function graphqlOriginAllowed(
  request: Request,
  origin: string,
  base: ReadonlySet<string>,
  policies: CorsPolicies,
): Promise<boolean> {
  if (base.has(origin)) return true;
  const host = request.headers.get('host');
  if (host !== null && URL.canParse(origin) && new URL(origin).host === host) return true;
  const policy = await policies.forHost(requestHost(request));
  return policy?.graphql.has(origin) ?? false;
}

/**
 * Wraps the GraphQL handler: answers preflights itself (204 for an allowed origin, 403 without an
 * allow-origin header for any other) and marks the answers an allowed origin may read. A request
 * from another origin still runs (a browser will not let the page read it) unless the session
 * cookie would sign it in: schema/csrf.ts refuses those.
 */
export function withGraphqlCors(
  handler: (request: Request) => Promise<Response>,
  base: ReadonlySet<string>,
  policies: CorsPolicies,
) {
  return async (request: Request): Promise<Response> => {
    const origin = request.headers.get('origin');
    const allowedOrigin =
      origin !== null && (await graphqlOriginAllowed(request, origin, base, policies)) ? origin : undefined;
    if (request.method === 'OPTIONS') {
      if (allowedOrigin === undefined) return refusedPreflight(origin ?? 'null');
      return new Response(null, {
        status: 204,
        headers: {
          'access-control-allow-origin': allowedOrigin,
          'access-control-allow-credentials': 'true',
          'access-control-allow-methods': GRAPHQL_METHODS,
          'access-control-allow-headers': allowedHeaders(request, GRAPHQL_ALLOWED_HEADERS),
          'access-control-max-age': String(PREFLIGHT_MAX_AGE_SECONDS),
          vary: 'Origin',
        },
      });
    }
    const response = await handler(request);
    response.headers.append('vary', 'Origin');
    if (allowedOrigin !== undefined) {
      response.headers.set('access-control-allow-origin', allowedOrigin);
      response.headers.set('access-control-allow-credentials', 'true');
      response.headers.set('access-control-expose-headers', EXPOSED_HEADERS);
    }
    return response;
  };
}
