import type { Db, TransactionSql } from '../sql.ts';

/**
 * Customers' low-balance alerts. The balance they watch is the posted balance (paid + granted):
 * holds of requests in flight come and go within seconds and would make an alert flap.
 */

export type BalanceThreshold = { id: string; accountId: string; thresholdNanos: bigint; armed: boolean };

type Row = { id: string; account_id: string; threshold_nanos: bigint; armed: boolean };
const fromRow = (row: Row): BalanceThreshold => ({
  id: row.id,
  accountId: row.account_id,
  thresholdNanos: row.threshold_nanos,
  armed: row.armed,
});

export async function listBalanceThresholds(db: Db, accountId: string): Promise<BalanceThreshold[]> {
  const rows = await db<Row[]>`
    select id, account_id, threshold_nanos, armed from balance_thresholds
    where account_id = ${accountId}::uuid order by threshold_nanos desc`;
  return rows.map(fromRow);
}

/**
 * Replaces the account's thresholds. One that stays keeps its state; a new one starts armed only
 * if the balance is at or above it now, so setting an alert above the balance sends nothing until
 * the balance has been above it and falls again.
 */
export async function replaceBalanceThresholds(
  tx: TransactionSql,
  accountId: string,
  amounts: readonly bigint[],
): Promise<BalanceThreshold[]> {
  const kept = amounts.map(String);
  await tx`delete from balance_thresholds
    where account_id = ${accountId}::uuid and not (threshold_nanos = any(${kept}::int8[]))`;
  await tx`
    insert into balance_thresholds (account_id, threshold_nanos, armed)
    select ${accountId}::uuid, t, w.paid_nanos + w.granted_nanos >= t
    from unnest(${kept}::int8[]) as t, wallets w where w.account_id = ${accountId}::uuid
    on conflict (account_id, threshold_nanos) do nothing`;
  return listBalanceThresholds(tx, accountId);
}

export type Crossing = { id: string; thresholdNanos: bigint; crossings: number; balanceNanos: bigint };

/**
 * Brings the account's thresholds in line with its balance: one below the balance re-arms, an
 * armed one above it disarms and counts a crossing, which is returned. The rows are locked first
 * and the balance read by the next statement, so it is at least as new as the balance any earlier
 * check (which held the same locks) saw: two checks at once cannot both count one crossing, and a
 * stale balance cannot re-arm an alert that a newer one disarmed.
 */
export async function syncBalanceThresholds(tx: TransactionSql, accountId: string): Promise<Crossing[]> {
  const locked =
    await tx`select id from balance_thresholds where account_id = ${accountId}::uuid order by id for update`;
  if (locked.length === 0) return [];
  const rows = await tx<{ id: string; threshold_nanos: bigint; crossings: number; balance: bigint; armed: boolean }[]>`
    with w as (select paid_nanos + granted_nanos as balance from wallets where account_id = ${accountId}::uuid)
    update balance_thresholds t
    set armed = w.balance >= t.threshold_nanos,
        crossings = t.crossings + case when w.balance < t.threshold_nanos then 1 else 0 end
    from w
    where t.account_id = ${accountId}::uuid and t.armed <> (w.balance >= t.threshold_nanos)
    returning t.id, t.threshold_nanos, t.crossings, t.armed, w.balance`;
  return rows
    .filter((row) => !row.armed)
    .map((row) => ({
      id: row.id,
      thresholdNanos: row.threshold_nanos,
      crossings: row.crossings,
      balanceNanos: row.balance,
    }));
}

/** Accounts whose thresholds disagree with their balance: what a periodic check catches up on. */
export async function accountsOutOfStep(db: Db, limit: number): Promise<string[]> {
  const rows = await db<{ account_id: string }[]>`
    select distinct t.account_id from balance_thresholds t join wallets w on w.account_id = t.account_id
    where t.armed <> (w.paid_nanos + w.granted_nanos >= t.threshold_nanos)
    limit ${limit}`;
  return rows.map((row) => row.account_id);
}

export async function hasBalanceThresholds(db: Db, accountId: string): Promise<boolean> {
  const [row] = await db<{ found: boolean }[]>`
    select exists (select 1 from balance_thresholds where account_id = ${accountId}::uuid) as found`;
  return row?.found ?? false;
}
