import type { Db } from '../sql.ts';

/**
 * A tenant's business reports. Money comes from request_charges, which holds one row per tenant
 * level of every request: what that level charged below it (revenue) and paid above it (cost). A
 * reseller's row is its own margin; its parent's row for the same request is the parent's margin
 * on the reseller's wholesale spend. Traffic (requests, errors, active customers) comes from the
 * requests of the tenant's own customers.
 */

export type ReportRange = { tenantId: string; from: Date; to: Date };
export type ReportInterval = 'day' | 'month';

export type MoneyBucket = { period: string; revenueNanos: bigint; costNanos: bigint };
export type TrafficBucket = { period: string; requests: number; errors: number; activeCustomers: number };

const period = (db: Db, interval: ReportInterval, column: string) =>
  db`to_char(date_trunc(${interval}, ${db.unsafe(column)} at time zone 'UTC'), 'YYYY-MM-DD')`;

export async function moneyByPeriod(db: Db, range: ReportRange, interval: ReportInterval): Promise<MoneyBucket[]> {
  const rows = await db<{ period: string; revenue: bigint; cost: bigint }[]>`
    select ${period(db, interval, 'rc.created_at')} as period, sum(rc.revenue_nanos)::int8 as revenue, sum(rc.cost_nanos)::int8 as cost
    from request_charges rc
    where rc.tenant_id = ${range.tenantId}::uuid and rc.created_at >= ${range.from} and rc.created_at < ${range.to}
    group by 1 order by 1`;
  return rows.map((row) => ({ period: row.period, revenueNanos: row.revenue, costNanos: row.cost }));
}

const ERROR = `(r.outcome in ('failed', 'refused') or r.status_code >= 400)`;

export async function trafficByPeriod(db: Db, range: ReportRange, interval: ReportInterval): Promise<TrafficBucket[]> {
  const rows = await db<{ period: string; requests: bigint; errors: bigint; customers: bigint }[]>`
    select ${period(db, interval, 'r.created_at')} as period, count(*)::int8 as requests,
      count(*) filter (where ${db.unsafe(ERROR)})::int8 as errors, count(distinct r.account_id)::int8 as customers
    from requests r
    where r.tenant_id = ${range.tenantId}::uuid and r.created_at >= ${range.from} and r.created_at < ${range.to}
    group by 1 order by 1`;
  return rows.map((row) => ({
    period: row.period,
    requests: Number(row.requests),
    errors: Number(row.errors),
    activeCustomers: Number(row.customers),
  }));
}

export async function activeCustomers(db: Db, range: ReportRange): Promise<number> {
  const [row] = await db<{ customers: bigint }[]>`
    select count(distinct r.account_id)::int8 as customers from requests r
    where r.tenant_id = ${range.tenantId}::uuid and r.created_at >= ${range.from} and r.created_at < ${range.to}`;
  return Number(row?.customers ?? 0n);
}

export type ModelShare = {
  model: string;
  requests: number;
  promptTokens: bigint;
  completionTokens: bigint;
  revenueNanos: bigint;
  costNanos: bigint;
};

/** Models by number of requests this tenant earned on (its own customers' and its resellers'). */
export async function popularModels(db: Db, range: ReportRange, limit: number): Promise<ModelShare[]> {
  const rows = await db<
    { model: string; requests: bigint; prompt: bigint; completion: bigint; revenue: bigint; cost: bigint }[]
  >`
    select coalesce(r.model, '') as model, count(*)::int8 as requests, sum(r.prompt_tokens)::int8 as prompt,
      sum(r.completion_tokens)::int8 as completion, sum(rc.revenue_nanos)::int8 as revenue, sum(rc.cost_nanos)::int8 as cost
    from request_charges rc join requests r on r.id = rc.request_id
    where rc.tenant_id = ${range.tenantId}::uuid and rc.created_at >= ${range.from} and rc.created_at < ${range.to}
    group by 1 order by count(*) desc, 1 limit ${limit}`;
  return rows.map((row) => ({
    model: row.model,
    requests: Number(row.requests),
    promptTokens: row.prompt,
    completionTokens: row.completion,
    revenueNanos: row.revenue,
    costNanos: row.cost,
  }));
}

export type ErrorShare = { key: string; requests: number; errors: number };

/** Error counts of the tenant's own traffic, per model or per error code. */
export async function errorRates(
  db: Db,
  range: ReportRange,
  by: 'model' | 'code',
  limit: number,
): Promise<ErrorShare[]> {
  const key = by === 'model' ? db`coalesce(r.model, '')` : db`coalesce(r.error_code, r.status_code::text)`;
  const only = by === 'code' ? db`and ${db.unsafe(ERROR)}` : db``;
  const rows = await db<{ key: string; requests: bigint; errors: bigint }[]>`
    select ${key} as key, count(*)::int8 as requests, count(*) filter (where ${db.unsafe(ERROR)})::int8 as errors
    from requests r
    where r.tenant_id = ${range.tenantId}::uuid and r.created_at >= ${range.from} and r.created_at < ${range.to} ${only}
    group by 1 order by 3 desc, 2 desc, 1 limit ${limit}`;
  return rows.map((row) => ({ key: row.key, requests: Number(row.requests), errors: Number(row.errors) }));
}

/** What a reseller tenant paid its parent in the range: its wholesale spend. */
export async function wholesaleSpend(db: Db, range: ReportRange): Promise<bigint> {
  const [row] = await db<{ spend: bigint }[]>`
    select coalesce(sum(rc.cost_nanos), 0)::int8 as spend from request_charges rc
    where rc.tenant_id = ${range.tenantId}::uuid and rc.created_at >= ${range.from} and rc.created_at < ${range.to}`;
  return row?.spend ?? 0n;
}

export type WriteOffBucket = { period: string; model: string; requests: number; writtenOffNanos: bigint };

/**
 * What this tenant wrote off (its uncollected book, db/functions/post_settlements.sql): the charges
 * above a hold that the wallet paying this tenant could not cover, per period and model. A
 * reconcile correction's write-off counts under the request it corrects.
 */
export async function writeOffs(db: Db, range: ReportRange, interval: ReportInterval): Promise<WriteOffBucket[]> {
  const rows = await db<{ period: string; model: string; requests: bigint; written_off: bigint }[]>`
    select ${period(db, interval, 't.created_at')} as period, coalesce(r.model, '') as model,
      count(distinct t.id)::int8 as requests, (-sum(e.amount_nanos))::int8 as written_off
    from wallets w
    join entries e on e.wallet_id = w.id
    join transfers t on t.id = e.transfer_id
    left join requests r on r.id = case when t.kind = 'usage' then t.cause else substring(t.cause from '^reconcile:(.*)$') end
    where w.tenant_id = ${range.tenantId}::uuid and w.kind = 'uncollected'
      and t.created_at >= ${range.from} and t.created_at < ${range.to}
    group by 1, 2 order by 1, 2`;
  return rows.map((row) => ({
    period: row.period,
    model: row.model,
    requests: Number(row.requests),
    writtenOffNanos: row.written_off,
  }));
}
