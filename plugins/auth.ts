import { hashApiKey, isWellFormedApiKey } from '../core/api-key.ts';
import { findKeyPrincipal, touchApiKeys, type KeyPrincipal } from '../db/queries/api-keys.ts';
import type { Sql } from '../db/sql.ts';
import { admitOrigin } from '../cors/policies.ts';
import { type ErrorCode, GatewayError, serviceUnavailable } from '../core/errors.ts';
import { createLookupCache } from '../app/lookup-cache.ts';
import { booleanOption, onlyKnownOptions } from './options.ts';
import type { PluginDefinition } from './types.ts';

/**
 * `auth`: identifies the caller by `Authorization: Bearer tg-…` (or `x-api-key`). Lookups are
 * cached briefly by key hash — long enough to keep the database off the hot path, short enough
 * that a revoked key is refused by every replica within KEY_CACHE_TTL_MS.
 */

export const KEY_CACHE_TTL_MS = 1_500;
const KEY_CACHE_LIMIT = 50_000;
const LAST_USED_FLUSH_MS = 10_000;

function presentedKey(request: Request): string | undefined {
  const header = request.headers.get('authorization');
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1];
  }
  return request.headers.get('x-api-key')?.trim() || undefined;
}

const unauthorized = (message: string, code: ErrorCode = 'invalid_api_key') => new GatewayError(401, code, message);

function checkUsable(principal: KeyPrincipal, now: number): void {
  const { key } = principal;
  if (key.revokedAt) throw unauthorized('This API key has been revoked.', 'revoked_api_key');
  if (key.expiresAt && key.expiresAt.getTime() <= now)
    throw unauthorized('This API key has expired.', 'expired_api_key');
  if (principal.accountStatus !== 'active')
    throw new GatewayError(403, 'account_suspended', 'This account is suspended. Contact support.');
  if (principal.tenantStatus !== 'active')
    throw new GatewayError(403, 'tenant_suspended', 'This service is suspended. Contact support.');
}

function createKeyCache(sql: Sql, pepper: string) {
  const cache = createLookupCache<KeyPrincipal | undefined>({ ttlMs: KEY_CACHE_TTL_MS, maxEntries: KEY_CACHE_LIMIT });
  const used = new Set<string>();
  const flusher = setInterval(() => {
    if (used.size === 0) return;
    const ids = [...used];
    used.clear();
    touchApiKeys(sql, ids).catch(() => {});
  }, LAST_USED_FLUSH_MS);
  flusher.unref?.();
  return {
    lookup: (key: string) => cache.get(key, () => findKeyPrincipal(sql, hashApiKey(key, pepper))),
    markUsed: (id: string) => used.add(id),
  };
}

export const auth: PluginDefinition<{ optional: boolean }> = {
  name: 'auth',
  parseOptions(raw) {
    onlyKnownOptions(raw, ['optional']);
    return { optional: booleanOption(raw, 'optional', false) };
  },
  create(options, services) {
    const keys = createKeyCache(services.sql, services.keyPepper);
    return {
      name: 'auth',
      async admit(ctx) {
        const key = presentedKey(ctx.request);
        if (!key) {
          if (options.optional) return;
          throw unauthorized('Missing API key. Send it as "Authorization: Bearer tg-…".', 'missing_api_key');
        }
        if (!isWellFormedApiKey(key)) throw unauthorized('Invalid API key.');
        let principal: KeyPrincipal | undefined;
        try {
          principal = await keys.lookup(key);
        } catch {
          throw serviceUnavailable();
        }
        if (!principal) throw unauthorized('Invalid API key.');
        checkUsable(principal, Date.now());
        await admitOrigin(ctx, principal.tenantId, services.cors);
        keys.markUsed(principal.key.id);
        ctx.principal = principal;
      },
    };
  },
};
