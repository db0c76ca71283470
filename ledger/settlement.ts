import type { RequestCharge } from '../db/queries/requests.ts';
import type { Settlement } from '../db/queries/settlements.ts';
import type { Charge } from './charge.ts';
import type { TenantLevel } from './types.ts';

/** Who pays and who is paid for one request: the customer's wallet and the tenant chain, root first. */
export type SettlementBasis = {
  requestId: string;
  walletId: bigint;
  modelId: string | null;
  levels: readonly TenantLevel[];
  upstreamWalletId: bigint;
};

/** Debits (customer at the leaf price, each reseller at its parent's) and the credits that balance them. */
export function settlementOf(basis: SettlementBasis, charge: Charge): Settlement {
  const prices = charge.levelPricesNanos;
  const leaf = prices.length - 1;
  const debits = [{ walletId: basis.walletId, chargeNanos: prices[leaf] ?? 0n }];
  for (let level = leaf; level >= 1; level--)
    debits.push({ walletId: basis.levels[level]?.walletId ?? 0n, chargeNanos: prices[level - 1] ?? 0n });
  const credits = basis.levels.map((level, i) => ({
    walletId: level.revenueWalletId,
    amountNanos: i === 0 ? (prices[0] ?? 0n) - charge.costNanos : (prices[i] ?? 0n),
  }));
  credits.push({ walletId: basis.upstreamWalletId, amountNanos: charge.costNanos });
  return { requestId: basis.requestId, debits, credits, memo: { model: basis.modelId } };
}

export function chargesOf(requestId: string, levels: readonly TenantLevel[], charge: Charge): RequestCharge[] {
  const prices = charge.levelPricesNanos;
  return levels.map((level, i) => ({
    requestId,
    tenantId: level.tenantId,
    revenueNanos: prices[i] ?? 0n,
    costNanos: i === 0 ? charge.costNanos : (prices[i - 1] ?? 0n),
  }));
}
