import { inTransaction, type Db, type TransactionSql } from '../sql.ts';
import { applyBalanceChanges, lockWallets, type BalanceChange } from './holds.ts';

/**
 * Transfers: every money movement is one transfer (unique on kind + cause, so a replay cannot
 * apply twice) whose entries sum to zero across the wallets it touches.
 */

export type TransferKind =
  | 'purchase'
  | 'usage'
  | 'refund'
  | 'dispute'
  | 'dispute_won'
  | 'adjustment'
  | 'grant'
  | 'subscription';
export type Funding = 'paid' | 'granted';
export type TransferEntry = { walletId: bigint; funding: Funding; amountNanos: bigint };
export type TransferInput = {
  kind: TransferKind;
  cause: string;
  memo?: Record<string, unknown>;
  entries: TransferEntry[];
};
export type TransferResult = { transferId: bigint; applied: boolean };

function assertBalanced(entries: readonly { amountNanos: bigint }[]): void {
  const sum = entries.reduce((total, entry) => total + entry.amountNanos, 0n);
  if (sum !== 0n) throw new Error(`transfer entries must sum to zero, got ${sum}`);
}

async function insertEntries(tx: TransactionSql, transferId: bigint, entries: readonly TransferEntry[]): Promise<void> {
  const kept = entries.filter((entry) => entry.amountNanos !== 0n);
  if (kept.length === 0) return;
  await tx`insert into entries (transfer_id, wallet_id, funding, amount_nanos)
    select ${transferId.toString()}::int8, w, f, a
    from unnest(${kept.map((e) => e.walletId.toString())}::int8[], ${kept.map((e) => e.funding)}::text[], ${kept.map((e) => e.amountNanos.toString())}::int8[]) as x(w, f, a)`;
}

function balanceChangesOf(entries: readonly TransferEntry[]): BalanceChange[] {
  return entries.map((entry) => ({
    walletId: entry.walletId,
    apiKeyId: null,
    heldNanos: 0n,
    paidNanos: entry.funding === 'paid' ? entry.amountNanos : 0n,
    grantedNanos: entry.funding === 'granted' ? entry.amountNanos : 0n,
    spentNanos: 0n,
  }));
}

/** Records a transfer once. A second call with the same kind and cause changes nothing and says so. */
export async function recordTransfer(db: Db, input: TransferInput): Promise<TransferResult> {
  assertBalanced(input.entries);
  return inTransaction(db, async (tx) => {
    const [created] = await tx<{ id: bigint }[]>`
      insert into transfers (kind, cause, memo) values (${input.kind}, ${input.cause}, ${tx.json((input.memo ?? {}) as never)})
      on conflict (kind, cause) do nothing returning id`;
    if (!created) {
      const [existing] = await tx<
        { id: bigint }[]
      >`select id from transfers where kind = ${input.kind} and cause = ${input.cause}`;
      if (!existing) throw new Error('transfer vanished after a conflict');
      return { transferId: existing.id, applied: false };
    }
    const locked = await lockWallets(
      tx,
      input.entries.map((entry) => entry.walletId),
    );
    const unknown = input.entries.find((entry) => !locked.has(entry.walletId.toString()));
    if (unknown)
      throw new Error(`transfer ${input.kind}/${input.cause} names wallet ${unknown.walletId}, which does not exist`);
    await insertEntries(tx, created.id, input.entries);
    await applyBalanceChanges(tx, balanceChangesOf(input.entries));
    return { transferId: created.id, applied: true };
  });
}

export type WalletBalance = {
  walletId: bigint;
  paidNanos: bigint;
  grantedNanos: bigint;
  heldNanos: bigint;
  availableNanos: bigint;
};

export async function walletBalance(db: Db, walletId: bigint): Promise<WalletBalance | undefined> {
  const [row] = await db<{ paid_nanos: bigint; granted_nanos: bigint; held_nanos: bigint }[]>`
    select paid_nanos, granted_nanos, held_nanos from wallets where id = ${walletId.toString()}::int8`;
  if (!row) return undefined;
  return {
    walletId,
    paidNanos: row.paid_nanos,
    grantedNanos: row.granted_nanos,
    heldNanos: row.held_nanos,
    availableNanos: row.paid_nanos + row.granted_nanos - row.held_nanos,
  };
}

/**
 * Splits a charge on a customer or reseller wallet between granted (promotional) and paid credit.
 * Order of use: granted credit first, because it is the credit a customer can least get back.
 */
export function splitCharge(
  chargeNanos: bigint,
  grantedAvailableNanos: bigint,
): { grantedNanos: bigint; paidNanos: bigint } {
  const fromGranted =
    grantedAvailableNanos <= 0n ? 0n : chargeNanos < grantedAvailableNanos ? chargeNanos : grantedAvailableNanos;
  return { grantedNanos: fromGranted, paidNanos: chargeNanos - fromGranted };
}

export type StoredTransfer = {
  id: bigint;
  kind: TransferKind;
  cause: string;
  memo: Record<string, unknown>;
  createdAt: Date;
  entries: TransferEntry[];
};

/** A transfer found by its cause among the given kinds, with its entries: tells a replay from a clash of causes. */
export async function findTransferByCause(
  db: Db,
  kinds: readonly TransferKind[],
  cause: string,
): Promise<StoredTransfer | undefined> {
  const [row] = await db<
    { id: bigint; kind: TransferKind; cause: string; memo: Record<string, unknown>; created_at: Date }[]
  >`
    select id, kind, cause, memo, created_at from transfers where kind = any(${[...kinds]}::text[]) and cause = ${cause} order by id limit 1`;
  if (!row) return undefined;
  const entries = await db<{ wallet_id: bigint; funding: Funding; amount_nanos: bigint }[]>`
    select wallet_id, funding, amount_nanos from entries where transfer_id = ${row.id.toString()}::int8 order by id`;
  return {
    id: row.id,
    kind: row.kind,
    cause: row.cause,
    memo: row.memo,
    createdAt: row.created_at,
    entries: entries.map((entry) => ({
      walletId: entry.wallet_id,
      funding: entry.funding,
      amountNanos: entry.amount_nanos,
    })),
  };
}
