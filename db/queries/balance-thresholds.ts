import type { Db, TransactionSql } from '../sql.ts';

/**
 * Customers' low-balance alerts. The balance they watch is the posted balance (paid + granted):
 * holds of requests in flight come and go within seconds and would make an alert flap. An alert is
 * an amount, or a share of the account's last top-up (its last paid checkout or auto top-up); a
 * share's amount (rounded down to the nano-dollar, in numeric so that a top-up of any size cannot
 * overflow int8 on its way) is worked out by every statement that compares it with the balance, so it follows the top-ups, and is null (the alert never fires) before the
 * first one.
 */

export type BalanceThreshold = {
  id: string;
  accountId: string;
  /** The amount it fires below: set, or the share of the last top-up; null for a share before any top-up. */
  thresholdNanos: bigint | null;
  /** A share of the last top-up in basis points; null for an amount. */
  shareBps: number | null;
  armed: boolean;
};

/** An alert to set: an amount, or a share of the last top-up in basis points. */
export type ThresholdSetting = { amountNanos: bigint } | { shareBps: number };

/** The credit of an account's last paid top-up, as a SQL expression (null before the first). */
const lastTopUp = (db: Db, accountId: string) =>
  db`(select p.credit_nanos from payments p where p.account_id = ${accountId}::uuid and p.status = 'paid'
      order by p.paid_at desc limit 1)`;

type Row = { id: string; account_id: string; threshold_nanos: bigint | null; share_bps: number | null; armed: boolean };
const fromRow = (row: Row): BalanceThreshold => ({
  id: row.id,
  accountId: row.account_id,
  thresholdNanos: row.threshold_nanos,
  shareBps: row.share_bps,
  armed: row.armed,
});

export async function listBalanceThresholds(db: Db, accountId: string): Promise<BalanceThreshold[]> {
  const rows = await db<Row[]>`
    with last as (select ${lastTopUp(db, accountId)} as credit)
    select t.id, t.account_id, t.share_bps, t.armed,
           coalesce(t.threshold_nanos, floor(last.credit::numeric * t.share_bps / 10000)::int8) as threshold_nanos
    from balance_thresholds t, last
    where t.account_id = ${accountId}::uuid
    order by coalesce(t.threshold_nanos, floor(last.credit::numeric * t.share_bps / 10000)::int8) desc nulls last, t.share_bps desc`;
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
  settings: readonly ThresholdSetting[],
): Promise<BalanceThreshold[]> {
  const amounts = settings.flatMap((s) => ('amountNanos' in s ? [String(s.amountNanos)] : []));
  const shares = settings.flatMap((s) => ('shareBps' in s ? [s.shareBps] : []));
  await tx`delete from balance_thresholds
    where account_id = ${accountId}::uuid
      and not (coalesce(threshold_nanos = any(${amounts}::int8[]), false)
               or coalesce(share_bps = any(${shares}::int4[]), false))`;
  await tx`
    insert into balance_thresholds (account_id, threshold_nanos, armed)
    select ${accountId}::uuid, t, w.paid_nanos + w.granted_nanos >= t
    from unnest(${amounts}::int8[]) as t, wallets w where w.account_id = ${accountId}::uuid
    on conflict (account_id, threshold_nanos) do nothing`;
  await tx`
    insert into balance_thresholds (account_id, share_bps, armed)
    select ${accountId}::uuid, s,
           coalesce(w.paid_nanos + w.granted_nanos >= floor(${lastTopUp(tx, accountId)}::numeric * s / 10000)::int8, false)
    from unnest(${shares}::int4[]) as s, wallets w where w.account_id = ${accountId}::uuid
    on conflict (account_id, share_bps) do nothing`;
  return listBalanceThresholds(tx, accountId);
}

export type Crossing = {
  id: string;
  thresholdNanos: bigint;
  shareBps: number | null;
  crossings: number;
  balanceNanos: bigint;
};

/**
 * Brings the account's thresholds in line with its balance: one below the balance re-arms, an
 * armed one above it disarms and counts a crossing, which is returned. The rows are locked first
 * and the balance read by the next statement, so it is at least as new as the balance any earlier
 * check (which held the same locks) saw: two checks at once cannot both count one crossing, and a
 * stale balance cannot re-arm an alert that a newer one disarmed. A share whose amount is unknown
 * (no top-up yet) stays as it is.
 */
export async function syncBalanceThresholds(tx: TransactionSql, accountId: string): Promise<Crossing[]> {
  const locked =
    await tx`select id from balance_thresholds where account_id = ${accountId}::uuid order by id for update`;
  if (locked.length === 0) return [];
  const rows = await tx<
    {
      id: string;
      threshold: bigint;
      share_bps: number | null;
      crossings: number;
      balance: bigint;
      armed: boolean;
    }[]
  >`
    with w as (
      select paid_nanos + granted_nanos as balance, ${lastTopUp(tx, accountId)} as credit
      from wallets where account_id = ${accountId}::uuid
    ), a as (
      select t.id, coalesce(t.threshold_nanos, floor(w.credit::numeric * t.share_bps / 10000)::int8) as threshold, w.balance
      from balance_thresholds t, w where t.account_id = ${accountId}::uuid
    )
    update balance_thresholds t
    set armed = a.balance >= a.threshold,
        crossings = t.crossings + case when a.balance < a.threshold then 1 else 0 end
    from a
    where t.id = a.id and t.armed <> (a.balance >= a.threshold)
    returning t.id, a.threshold, t.share_bps, t.crossings, t.armed, a.balance`;
  return rows
    .filter((row) => !row.armed)
    .map((row) => ({
      id: row.id,
      thresholdNanos: row.threshold,
      shareBps: row.share_bps,
      crossings: row.crossings,
      balanceNanos: row.balance,
    }));
}

/** Accounts whose thresholds disagree with their balance: what a periodic check catches up on. */
export async function accountsOutOfStep(db: Db, limit: number): Promise<string[]> {
  const rows = await db<{ account_id: string }[]>`
    select distinct t.account_id from balance_thresholds t join wallets w on w.account_id = t.account_id
    where t.armed <> (w.paid_nanos + w.granted_nanos >= coalesce(
      t.threshold_nanos,
      floor((select p.credit_nanos from payments p where p.account_id = t.account_id and p.status = 'paid'
       order by p.paid_at desc limit 1)::numeric * t.share_bps / 10000)::int8))
    limit ${limit}`;
  return rows.map((row) => row.account_id);
}

export async function hasBalanceThresholds(db: Db, accountId: string): Promise<boolean> {
  const [row] = await db<{ found: boolean }[]>`
    select exists (select 1 from balance_thresholds where account_id = ${accountId}::uuid) as found`;
  return row?.found ?? false;
}
