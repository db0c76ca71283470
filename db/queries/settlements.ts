import type { Db } from '../sql.ts';

/**
 * Posting: a request's holds are resolved with the real charge, in the same transaction as the
 * `usage` transfer that moves the money (cause = request id). A charge above its hold is taken only
 * from what the wallet (and a capped key) has available; the rest is written off to the
 * uncollected book of the tenant it was owed to, in the same transfer, and recorded on the hold
 * (charged_nanos, written_off_nanos). No settlement takes a wallet below zero.
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

type PostRow = {
  o_request_index: number;
  o_status: PostOutcome['status'];
  o_transfer_id: bigint | null;
  o_previous_outcome: 'posted' | 'voided' | 'expired' | null;
  o_charged_nanos: bigint | null;
};

function checkBalanced(settlement: Settlement): void {
  const debitTotal = settlement.debits.reduce((sum, d) => sum + d.chargeNanos, 0n);
  const creditTotal = settlement.credits.reduce((sum, c) => sum + c.amountNanos, 0n);
  if (debitTotal !== creditTotal) throw new Error(`settlement ${settlement.requestId} is unbalanced`);
  if (settlement.debits.some((d) => d.chargeNanos < 0n))
    throw new Error(`settlement ${settlement.requestId} has a negative charge`);
}

/**
 * The statement that posts many requests (the `post_settlements` function, db/functions/post_settlements.sql):
 * each gets a truthful answer, including on retries. Not awaited, so the gateway can send it
 * together with the usage log rows it belongs to; `asyncCommit` skips waiting for the WAL flush.
 */
export function postSettlementsQuery(db: Db, settlements: readonly Settlement[], asyncCommit: boolean) {
  settlements.forEach(checkBalanced);
  const debit = { request: [] as number[], wallet: [] as string[], charge: [] as string[] };
  const credit = { request: [] as number[], wallet: [] as string[], amount: [] as string[] };
  settlements.forEach((settlement, i) => {
    for (const d of settlement.debits) {
      debit.request.push(i + 1);
      debit.wallet.push(d.walletId.toString());
      debit.charge.push(d.chargeNanos.toString());
    }
    for (const c of settlement.credits) {
      credit.request.push(i + 1);
      credit.wallet.push(c.walletId.toString());
      credit.amount.push(c.amountNanos.toString());
    }
  });
  return db<PostRow[]>`
    select * from post_settlements(${settlements.map((s) => s.requestId)}::text[], ${settlements.map((s) => JSON.stringify(s.memo ?? {}))}::jsonb[],
      ${debit.request}::int4[], ${debit.wallet}::int8[], ${debit.charge}::int8[],
      ${credit.request}::int4[], ${credit.wallet}::int8[], ${credit.amount}::int8[], ${asyncCommit})`;
}

function postOutcomes(rows: readonly PostRow[]): PostOutcome[] {
  return rows.map((row): PostOutcome => {
    if (row.o_status === 'posted') return { status: 'posted', transferId: row.o_transfer_id ?? 0n };
    if (row.o_status === 'already_resolved')
      return {
        status: 'already_resolved',
        outcome: row.o_previous_outcome ?? 'posted',
        chargedNanos: row.o_charged_nanos ?? 0n,
      };
    return { status: 'no_hold' };
  });
}

/** Posts many requests in one statement; each gets a truthful answer, including on retries. */
export async function postSettlements(db: Db, settlements: readonly Settlement[]): Promise<PostOutcome[]> {
  if (settlements.length === 0) return [];
  return postOutcomes(await postSettlementsQuery(db, settlements, false));
}
