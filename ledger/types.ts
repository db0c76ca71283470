import type { HoldShape } from '../core/hold-estimate.ts';
import type { PromptBound } from '../core/prompt-bound.ts';

/** What the ledger knows of one request's money: who pays at which markup, what is held, what was used. */

export type TenantLevel = { tenantId: string; walletId: bigint; revenueWalletId: bigint };

export type Pricing = {
  /** Root first. Level i's markup applies to what level i pays the level above. */
  levels: TenantLevel[];
  /** Where the upstream's cost is credited when the request is settled. */
  upstreamWalletId: bigint;
  markupsBps: number[];
  bound: PromptBound;
  shape: HoldShape;
};

export type HoldState = { grantedNanos: bigint[]; maxOutputTokens: number };

/** Told when a wallet's balance changes, so live views (GraphQL subscriptions) can refresh. */
export type BalanceEvents = { publishBalanceChange(accountId: string): void };
