import { API_KEY_PREFIX } from '../core/api-key.ts';
import type { Account } from '../db/queries/accounts.ts';
import { MANAGEMENT_TOKEN_PREFIX, useManagementToken } from '../db/queries/management-tokens.ts';
import { findSessionAccount, SESSION_TOKEN_PREFIX } from '../db/queries/sessions.ts';
import { findTenant, findTenantByDomain, findTenantInChain, type Tenant } from '../db/queries/tenants.ts';
import { clerkAccount, looksLikeJwt } from './clerk.ts';
import type { ApiServices, Viewer } from './context.ts';
import { reservedHosts } from './domain-check.ts';
import { ApiError, forbidden, unauthenticated } from './errors.ts';
import { CLERK_COOKIE, clearSessionCookie, readCookie, SESSION_COOKIE } from './cookies.ts';

/**
 * Resolves who is calling, once per request, from (in order) an `Authorization: Bearer` token —
 * a session token `tgs-…`, a management token `tgm-…` or a Clerk session JWT — or else the
 * `tollgate_session` cookie or Clerk's `__session` cookie.
 *
 * A bad bearer token is an error (the caller chose to present it); a bad cookie is only ignored
 * and cleared, so a stale cookie never stops anyone from signing in again.
 */

type Authentication = { viewer: Viewer | null; tenant: Tenant; cookies: string[] };

/**
 * The tenant whose (proved) custom domain the request came to, else the root tenant. The operator's
 * own hosts always mean the root, even if a tenant's domain names one (set before domains were proved).
 */
async function requestTenant(services: ApiServices, request: Request): Promise<Tenant> {
  const host = (request.headers.get('host') ?? new URL(request.url).host).replace(/:\d+$/, '').toLowerCase();
  const routed = host !== '' && !reservedHosts(services.config).has(host);
  const byDomain = routed ? await findTenantByDomain(services.sql, host) : undefined;
  if (byDomain) return byDomain;
  const root = await findTenant(services.sql, services.rootTenantId);
  if (!root) throw new Error(`the root tenant ${services.rootTenantId} does not exist`);
  return root;
}

/** The viewer's tenant, refused when it or any tenant above it is suspended. */
async function activeTenant(services: ApiServices, tenantId: string): Promise<Tenant | undefined> {
  const found = await findTenantInChain(services.sql, tenantId);
  if (found && found.chainStatus !== 'active') throw forbidden('This service is suspended. Contact support.');
  return found?.tenant;
}

async function accountViewer(services: ApiServices, account: Account, sessionId: string | null): Promise<Viewer> {
  if (account.status !== 'active') throw forbidden('This account is suspended. Contact support.');
  const tenant = await activeTenant(services, account.tenantId);
  if (!tenant) throw new Error(`account ${account.id} has no tenant`);
  return { kind: 'account', account, tenant, sessionId };
}

async function bearerViewer(services: ApiServices, token: string, tenant: Tenant): Promise<Viewer> {
  if (token.startsWith(SESSION_TOKEN_PREFIX)) {
    const found = await findSessionAccount(services.sql, token);
    if (!found) throw unauthenticated('This session has expired or was signed out. Sign in again.');
    return accountViewer(services, found.account, found.sessionId);
  }
  if (token.startsWith(MANAGEMENT_TOKEN_PREFIX)) {
    const found = await useManagementToken(services.sql, token);
    const tokenTenant = found ? await activeTenant(services, found.tenantId) : undefined;
    if (!found || !tokenTenant) throw unauthenticated('This management token is unknown, revoked or expired.');
    return { kind: 'management', token: found, tenant: tokenTenant };
  }
  if (token.startsWith(API_KEY_PREFIX)) {
    throw unauthenticated('API keys (tg-…) work on /v1 only. Use a session token or a management token (tgm-…) here.');
  }
  const clerk = services.config.clerk;
  if (clerk && looksLikeJwt(token))
    return accountViewer(services, await clerkAccount(services, clerk, token, tenant), null);
  throw unauthenticated('This bearer token is not recognised.');
}

/** Refusals become "not signed in"; anything else (the database is down, say) still fails the request. */
function orNull<T>(work: Promise<T>): Promise<T | null> {
  return work.catch((error: unknown) => {
    if (error instanceof ApiError) return null;
    throw error;
  });
}

/** A cookie that no longer works is dropped rather than refused. */
async function cookieViewer(
  services: ApiServices,
  request: Request,
  tenant: Tenant,
  cookies: string[],
): Promise<Viewer | null> {
  const session = readCookie(request, SESSION_COOKIE);
  if (session) {
    const found = await findSessionAccount(services.sql, session);
    const viewer = found ? await orNull(accountViewer(services, found.account, found.sessionId)) : null;
    if (viewer) return viewer;
    cookies.push(clearSessionCookie(services.config));
  }
  const clerk = services.config.clerk;
  const clerkToken = clerk ? readCookie(request, CLERK_COOKIE) : undefined;
  if (clerk && clerkToken && looksLikeJwt(clerkToken)) {
    const account = await orNull(clerkAccount(services, clerk, clerkToken, tenant));
    return account ? orNull(accountViewer(services, account, null)) : null;
  }
  return null;
}

export async function authenticate(services: ApiServices, request: Request): Promise<Authentication> {
  const tenant = await requestTenant(services, request);
  const cookies: string[] = [];
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get('authorization') ?? '')?.[1];
  const viewer = bearer
    ? await bearerViewer(services, bearer, tenant)
    : await cookieViewer(services, request, tenant, cookies);
  return { viewer, tenant: viewer?.tenant ?? tenant, cookies };
}
