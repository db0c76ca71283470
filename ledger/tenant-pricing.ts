import { markupFor, type PricingRule } from '../core/pricing.ts';
import { listPricingRules } from '../db/queries/pricing.ts';
import { tenantChain, type Tenant } from '../db/queries/tenants.ts';
import type { Sql } from '../db/sql.ts';
import type { TenantLevel } from './types.ts';
import { createLookupCache } from '../app/lookup-cache.ts';

/**
 * A tenant's chain (root first) with each level's wallets and pricing rules, cached briefly so the
 * request path does not query it; a changed price reaches every replica within the cache's life.
 */

export const TENANT_CACHE_TTL_MS = 1_500;
const TENANT_CACHE_LIMIT = 10_000;

export type ChainPricing = {
  tenants: Tenant[];
  levels: TenantLevel[];
  upstreamWalletId: bigint;
  markupsFor(modelId: string, leafMarkupOverrideBps?: number): number[];
};

async function loadChainPricing(sql: Sql, tenantId: string): Promise<ChainPricing> {
  const tenants = await tenantChain(sql, tenantId);
  if (tenants.length === 0) throw new Error(`tenant ${tenantId} does not exist`);
  const ids = tenants.map((t) => t.id);
  const [wallets, rules] = await Promise.all([
    sql<{ id: bigint; tenant_id: string; kind: string }[]>`
      select id, tenant_id, kind from wallets where tenant_id = any(${ids}::uuid[]) and kind in ('revenue', 'reseller', 'upstream')`,
    listPricingRules(sql, ids),
  ]);
  const wallet = (tenant: string, kind: string) => {
    const found = wallets.find((w) => w.tenant_id === tenant && w.kind === kind);
    if (!found) throw new Error(`tenant ${tenant} has no ${kind} wallet`);
    return found.id;
  };
  const rulesByTenant = new Map<string, PricingRule[]>(ids.map((id) => [id, rules.filter((r) => r.tenantId === id)]));
  return {
    tenants,
    // The wallet of level 0 (root) is never charged; the customer's own wallet stands for the leaf.
    levels: tenants.map((t, i) => ({
      tenantId: t.id,
      walletId: i === 0 ? 0n : wallet(t.id, 'reseller'),
      revenueWalletId: wallet(t.id, 'revenue'),
    })),
    upstreamWalletId: wallet(ids[0] as string, 'upstream'),
    markupsFor(modelId, leafMarkupOverrideBps) {
      return tenants.map((t, i) =>
        i === tenants.length - 1 && leafMarkupOverrideBps !== undefined
          ? leafMarkupOverrideBps
          : markupFor(rulesByTenant.get(t.id) ?? [], modelId, t.markupBps),
      );
    },
  };
}

export type TenantPricing = { forTenant(tenantId: string): Promise<ChainPricing> };

export function createTenantPricing(sql: Sql, now: () => number = Date.now): TenantPricing {
  const cache = createLookupCache<ChainPricing>({ ttlMs: TENANT_CACHE_TTL_MS, maxEntries: TENANT_CACHE_LIMIT, now });
  return { forTenant: (tenantId) => cache.get(tenantId, () => loadChainPricing(sql, tenantId)) };
}
