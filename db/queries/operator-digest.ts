import type { Db, TransactionSql } from '../sql.ts';

/**
 * What the operators' daily digest reads: a tenant's failed payments (checkouts and auto top-ups
 * that failed, plan renewals whose invoice failed) and its write-offs (its uncollected book, as in
 * reports.ts) over one UTC day, and who gets it (the tenant's active admins and operators).
 */

/** The failures listed one by one in a digest; the totals count them all. */
const MAX_LISTED_FAILURES = 20;

export type DigestFailure = { email: string; what: string; amountNanos: bigint; reason: string; at: Date };

export type DayDigest = {
  failures: DigestFailure[];
  failureCount: number;
  failedNanos: bigint;
  writeOffCount: number;
  writtenOffNanos: bigint;
};

export type DigestRecipient = { id: string; email: string };

/** Tenants whose digest of this day is not written yet, a bounded batch of them. */
export async function tenantsWithoutDigest(db: Db, day: string, limit: number): Promise<string[]> {
  const rows = await db<{ id: string }[]>`
    select t.id from tenants t
    where not exists (select 1 from operator_digests d where d.tenant_id = t.id and d.day = ${day}::date)
    order by t.id limit ${limit}`;
  return rows.map((row) => row.id);
}

/**
 * Claims the tenant's digest of the day in the caller's transaction: false when another replica
 * already has (its row blocks this insert until that transaction ends, then conflicts).
 */
export async function claimDigest(tx: TransactionSql, tenantId: string, day: string): Promise<boolean> {
  const added = await tx`
    insert into operator_digests (tenant_id, day, recipients) values (${tenantId}::uuid, ${day}::date, 0)
    on conflict do nothing`;
  return added.count === 1;
}

export async function recordDigestRecipients(tx: TransactionSql, tenantId: string, day: string, n: number) {
  await tx`update operator_digests set recipients = ${n} where tenant_id = ${tenantId}::uuid and day = ${day}::date`;
}

export async function digestRecipients(db: Db, tenantId: string): Promise<DigestRecipient[]> {
  return db<DigestRecipient[]>`
    select id, email from accounts
    where tenant_id = ${tenantId}::uuid and role in ('admin', 'operator') and status = 'active'
    order by created_at, id`;
}

type FailureRow = {
  email: string;
  what: string;
  amount_nanos: bigint;
  reason: string | null;
  at: Date;
  total: number;
  total_nanos: bigint;
};

/** One UTC day's digest; `day` is "2026-12-01". */
export async function dayDigest(db: Db, tenantId: string, day: string): Promise<DayDigest> {
  const from = db`(${day}::date::timestamp at time zone 'UTC')`;
  const to = db`((${day}::date + 1)::timestamp at time zone 'UTC')`;
  const failures = await db<FailureRow[]>`
    with failed as (
      select a.email, p.description as what, p.price_nanos as amount_nanos, p.failure_reason as reason,
             p.updated_at as at
      from payments p join accounts a on a.id = p.account_id
      where p.tenant_id = ${tenantId}::uuid and p.status = 'failed' and p.updated_at >= ${from} and p.updated_at < ${to}
      union all
      select a.email, 'Plan renewal (' || pl.name || ')', pl.price_nanos, i.failure_reason, i.created_at
      from plan_invoices i join plan_subscriptions s on s.id = i.subscription_id
        join accounts a on a.id = s.account_id join plans pl on pl.id = s.plan_id
      where s.tenant_id = ${tenantId}::uuid and i.status = 'failed' and i.created_at >= ${from} and i.created_at < ${to}
    )
    select *, count(*) over ()::int as total, (sum(amount_nanos) over ())::int8 as total_nanos
    from failed order by at limit ${MAX_LISTED_FAILURES}`;
  const [offs] = await db<{ n: number; nanos: bigint }[]>`
    select count(distinct t.id)::int as n, coalesce(-sum(e.amount_nanos), 0)::int8 as nanos
    from wallets w join entries e on e.wallet_id = w.id join transfers t on t.id = e.transfer_id
    where w.tenant_id = ${tenantId}::uuid and w.kind = 'uncollected'
      and t.created_at >= ${from} and t.created_at < ${to}`;
  return {
    failures: failures.map((row) => ({
      email: row.email,
      what: row.what,
      amountNanos: row.amount_nanos,
      reason: row.reason ?? '',
      at: row.at,
    })),
    failureCount: failures[0]?.total ?? 0,
    failedNanos: failures[0]?.total_nanos ?? 0n,
    writeOffCount: offs?.n ?? 0,
    writtenOffNanos: offs?.nanos ?? 0n,
  };
}
