import { inTransaction, type Db, type TransactionSql } from '../sql.ts';
import { applyBalanceChanges, lockWallets, type BalanceChange } from './holds.ts';
import { splitCharge, type TransferEntry } from './transfers.ts';

/**
 * Posting: a request's holds are resolved with the real charge, in the same transaction as the
 * `usage` transfer that moves the money (cause = request id). A charge above its hold is posted in
 * full and stays visible as charged > amount on the hold (a recorded overage).
 */

export type Settlement = {
  requestId: string;
  /** One per hold leg of the request: what each paying wallet is charged. */
  debits: { walletId: bigint; chargeNanos: bigint }[];
  /** The receiving side (revenue, upstream cost); sums to the debits. */
  credits: { walletId: bigint; amountNanos: bigint }[];
  memo?: Record<string, unknown>;
};

export type PostOutcome =
  | { status: 'posted'; transferId: bigint }
  | { status: 'already_resolved'; outcome: 'posted' | 'voided' | 'expired'; chargedNanos: bigint }
  | { status: 'no_hold' };

type ResolvedRow = { request_id: string; wallet_id: bigint; api_key_id: string | null; amount_nanos: bigint; charged_nanos: bigint };

async function resolveHolds(tx: TransactionSql, settlements: readonly Settlement[]): Promise<ResolvedRow[]> {
  const request: string[] = [];
  const wallet: string[] = [];
  const charge: string[] = [];
  for (const settlement of settlements) {
    const debitTotal = settlement.debits.reduce((sum, d) => sum + d.chargeNanos, 0n);
    const creditTotal = settlement.credits.reduce((sum, c) => sum + c.amountNanos, 0n);
    if (debitTotal !== creditTotal) throw new Error(`settlement ${settlement.requestId} is unbalanced`);
    for (const debit of settlement.debits) {
      if (debit.chargeNanos < 0n) throw new Error(`settlement ${settlement.requestId} has a negative charge`);
      request.push(settlement.requestId);
      wallet.push(debit.walletId.toString());
      charge.push(debit.chargeNanos.toString());
    }
  }
  return tx<ResolvedRow[]>`
    update holds set outcome = 'posted', charged_nanos = d.charge, resolved_at = now()
    from unnest(${request}::text[], ${wallet}::int8[], ${charge}::int8[]) as d(request_id, wallet_id, charge)
    where holds.request_id = d.request_id and holds.wallet_id = d.wallet_id and holds.outcome is null
    returning holds.request_id, holds.wallet_id, holds.api_key_id, holds.amount_nanos, holds.charged_nanos`;
}

async function previousOutcomes(tx: TransactionSql, requestIds: string[]): Promise<Map<string, PostOutcome>> {
  if (requestIds.length === 0) return new Map();
  const rows = await tx<{ request_id: string; outcome: 'posted' | 'voided' | 'expired' | null; charged: bigint }[]>`
    select request_id, max(outcome) as outcome, coalesce(sum(charged_nanos), 0)::int8 as charged
    from holds where request_id = any(${requestIds}::text[]) group by request_id`;
  const found = new Map<string, PostOutcome>();
  for (const row of rows) {
    if (row.outcome) found.set(row.request_id, { status: 'already_resolved', outcome: row.outcome, chargedNanos: row.charged });
  }
  return found;
}

type Plan = { entries: TransferEntry[]; changes: BalanceChange[] };

function planPosting(settlement: Settlement, holds: ResolvedRow[], granted: Map<string, bigint>): Plan {
  if (holds.length !== settlement.debits.length) throw new Error(`settlement ${settlement.requestId} does not match its holds`);
  const plan: Plan = { entries: [], changes: [] };
  for (const hold of holds) {
    const key = hold.wallet_id.toString();
    const split = splitCharge(hold.charged_nanos, granted.get(key) ?? 0n);
    granted.set(key, (granted.get(key) ?? 0n) - split.grantedNanos);
    plan.entries.push({ walletId: hold.wallet_id, funding: 'granted', amountNanos: -split.grantedNanos });
    plan.entries.push({ walletId: hold.wallet_id, funding: 'paid', amountNanos: -split.paidNanos });
    plan.changes.push({
      walletId: hold.wallet_id,
      apiKeyId: hold.api_key_id,
      heldNanos: -hold.amount_nanos,
      paidNanos: -split.paidNanos,
      grantedNanos: -split.grantedNanos,
      spentNanos: hold.charged_nanos,
    });
  }
  for (const credit of settlement.credits) {
    plan.entries.push({ walletId: credit.walletId, funding: 'paid', amountNanos: credit.amountNanos });
    plan.changes.push({ walletId: credit.walletId, apiKeyId: null, heldNanos: 0n, paidNanos: credit.amountNanos, grantedNanos: 0n, spentNanos: 0n });
  }
  plan.entries = plan.entries.filter((entry) => entry.amountNanos !== 0n);
  return plan;
}

async function writeUsageTransfers(tx: TransactionSql, settlements: Settlement[], plans: Plan[]): Promise<Map<string, bigint>> {
  const transfers = await tx<{ id: bigint; cause: string }[]>`
    insert into transfers (kind, cause, memo)
    select 'usage', c, m from unnest(${settlements.map((s) => s.requestId)}::text[], ${settlements.map((s) => JSON.stringify(s.memo ?? {}))}::jsonb[]) as x(c, m)
    returning id, cause`;
  const ids = new Map(transfers.map((t) => [t.cause, t.id]));
  const rows = { transfer: [] as string[], wallet: [] as string[], funding: [] as string[], amount: [] as string[] };
  settlements.forEach((settlement, i) => {
    for (const entry of plans[i]?.entries ?? []) {
      rows.transfer.push(String(ids.get(settlement.requestId)));
      rows.wallet.push(entry.walletId.toString());
      rows.funding.push(entry.funding);
      rows.amount.push(entry.amountNanos.toString());
    }
  });
  if (rows.transfer.length > 0) {
    await tx`insert into entries (transfer_id, wallet_id, funding, amount_nanos)
      select t, w, f, a from unnest(${rows.transfer}::int8[], ${rows.wallet}::int8[], ${rows.funding}::text[], ${rows.amount}::int8[]) as x(t, w, f, a)`;
  }
  return ids;
}

/** Posts many requests in one transaction; each gets a truthful answer, including on retries. */
export async function postSettlements(db: Db, settlements: readonly Settlement[]): Promise<PostOutcome[]> {
  return inTransaction(db, async (tx) => {
    const resolved = await resolveHolds(tx, settlements);
    const byRequest = Map.groupBy(resolved, (row) => row.request_id);
    const posting = settlements.filter((s) => byRequest.has(s.requestId));
    const others = await previousOutcomes(tx, settlements.filter((s) => !byRequest.has(s.requestId)).map((s) => s.requestId));
    const granted = await lockWallets(tx, [...resolved.map((r) => r.wallet_id), ...posting.flatMap((s) => s.credits.map((c) => c.walletId))]);
    const plans = posting.map((s) => planPosting(s, byRequest.get(s.requestId) ?? [], granted));
    const [transferIds] = await Promise.all([
      writeUsageTransfers(tx, posting, plans),
      applyBalanceChanges(tx, plans.flatMap((plan) => plan.changes)),
    ]);
    return settlements.map((s): PostOutcome => {
      const transferId = transferIds.get(s.requestId);
      if (transferId !== undefined) return { status: 'posted', transferId };
      return others.get(s.requestId) ?? { status: 'no_hold' };
    });
  });
}
