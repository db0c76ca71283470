import type { Db } from '../sql.ts';
import { keysetTail, positionColumn, withPosition, type KeysetPage, type Positioned } from './keyset.ts';

/**
 * The usage log and its aggregates, always within one tenant (and, for a customer, one account).
 * Each row also carries what the tenant earned and paid on it (request_charges), so an admin's
 * view shows margin per request without a second query.
 */

export type Outcome = 'completed' | 'aborted' | 'failed' | 'refused';

export type UsageFilter = {
  tenantId: string;
  accountId: string | null;
  apiKeyId: string | null;
  model: string | null;
  outcome: Outcome | null;
  statusCode: number | null;
  /** Inclusive. */
  from: Date | null;
  /** Exclusive. */
  to: Date | null;
};

export type UsageRecord = {
  id: string;
  accountId: string;
  apiKeyId: string | null;
  route: string;
  /** The wire protocol the request spoke; null for requests from before it was recorded. */
  protocol: string | null;
  model: string | null;
  stream: boolean;
  statusCode: number;
  outcome: Outcome;
  errorCode: string | null;
  promptTokens: number;
  completionTokens: number;
  /** The request's exact price to the customer. */
  chargeNanos: bigint;
  /** Of that price, what the customer's wallet could not pay and was written off. */
  writtenOffNanos: bigint;
  estimated: boolean;
  latencyMs: number | null;
  createdAt: Date;
  tenantRevenueNanos: bigint | null;
  tenantCostNanos: bigint | null;
};

type UsageRow = {
  id: string;
  account_id: string;
  api_key_id: string | null;
  route: string;
  protocol: string | null;
  model: string | null;
  stream: boolean;
  status_code: number;
  outcome: Outcome;
  error_code: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  charge_nanos: bigint;
  written_off_nanos: bigint;
  estimated: boolean;
  latency_ms: number | null;
  created_at: Date;
  tenant_revenue_nanos: bigint | null;
  tenant_cost_nanos: bigint | null;
};

function usageFromRow(row: UsageRow): UsageRecord {
  return {
    id: row.id,
    accountId: row.account_id,
    apiKeyId: row.api_key_id,
    route: row.route,
    protocol: row.protocol,
    model: row.model,
    stream: row.stream,
    statusCode: row.status_code,
    outcome: row.outcome,
    errorCode: row.error_code,
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    chargeNanos: row.charge_nanos,
    writtenOffNanos: row.written_off_nanos,
    estimated: row.estimated,
    latencyMs: row.latency_ms,
    createdAt: row.created_at,
    tenantRevenueNanos: row.tenant_revenue_nanos,
    tenantCostNanos: row.tenant_cost_nanos,
  };
}

function conditions(db: Db, filter: UsageFilter) {
  return db`r.tenant_id = ${filter.tenantId}::uuid
    ${filter.accountId ? db`and r.account_id = ${filter.accountId}::uuid` : db``}
    ${filter.apiKeyId ? db`and r.api_key_id = ${filter.apiKeyId}::uuid` : db``}
    ${filter.model ? db`and r.model = ${filter.model}` : db``}
    ${filter.outcome ? db`and r.outcome = ${filter.outcome}` : db``}
    ${filter.statusCode ? db`and r.status_code = ${filter.statusCode}` : db``}
    ${filter.from ? db`and r.created_at >= ${filter.from}` : db``}
    ${filter.to ? db`and r.created_at < ${filter.to}` : db``}`;
}

const USAGE_COLUMNS = `r.id, r.account_id, r.api_key_id, r.route, r.protocol, r.model, r.stream, r.status_code, r.outcome, r.error_code,
  r.prompt_tokens, r.completion_tokens, r.charge_nanos, r.estimated, r.latency_ms, r.created_at,
  rc.revenue_nanos as tenant_revenue_nanos, rc.cost_nanos as tenant_cost_nanos,
  coalesce((select sum(h.written_off_nanos) from holds h join wallets w on w.id = h.wallet_id and w.kind = 'customer'
            where h.request_id = r.id), 0)::int8 as written_off_nanos`;

export async function listUsage(db: Db, filter: UsageFilter, page: KeysetPage): Promise<Positioned<UsageRecord>[]> {
  const rows = await db<(UsageRow & { position_at: string })[]>`
    select ${db.unsafe(USAGE_COLUMNS)}, ${positionColumn(db, 'r')}
    from requests r left join request_charges rc on rc.request_id = r.id and rc.tenant_id = r.tenant_id
    where ${conditions(db, filter)} ${keysetTail(db, page, 'r', 'text')}`;
  return rows.map((row) => withPosition(row, usageFromRow));
}

/** Newest first, at most `limit` rows: the body of a CSV export. */
export async function exportUsage(db: Db, filter: UsageFilter, limit: number): Promise<UsageRecord[]> {
  const rows = await db<UsageRow[]>`
    select ${db.unsafe(USAGE_COLUMNS)}
    from requests r left join request_charges rc on rc.request_id = r.id and rc.tenant_id = r.tenant_id
    where ${conditions(db, filter)} order by r.created_at desc, r.id desc limit ${limit}`;
  return rows.map(usageFromRow);
}

export type UsageGrouping = 'hour' | 'day' | 'model';

export type UsageBucket = {
  /** An ISO timestamp (UTC) of the bucket's start, or the model id. */
  key: string;
  requests: number;
  errors: number;
  promptTokens: bigint;
  completionTokens: bigint;
  chargeNanos: bigint;
};

export async function aggregateUsage(
  db: Db,
  filter: UsageFilter,
  grouping: UsageGrouping,
  limit: number,
): Promise<UsageBucket[]> {
  const key =
    grouping === 'model'
      ? db`coalesce(r.model, '')`
      : db`to_char(date_trunc(${grouping}, r.created_at at time zone 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;
  const order = grouping === 'model' ? db`count(*) desc, 1` : db`1`;
  const rows = await db<
    {
      key: string;
      requests: bigint;
      errors: bigint;
      prompt_tokens: bigint;
      completion_tokens: bigint;
      charge_nanos: bigint;
    }[]
  >`
    select ${key} as key, count(*)::int8 as requests,
      count(*) filter (where r.outcome in ('failed', 'refused') or r.status_code >= 400)::int8 as errors,
      coalesce(sum(r.prompt_tokens), 0)::int8 as prompt_tokens, coalesce(sum(r.completion_tokens), 0)::int8 as completion_tokens,
      coalesce(sum(r.charge_nanos), 0)::int8 as charge_nanos
    from requests r where ${conditions(db, filter)}
    group by 1 order by ${order} limit ${limit}`;
  return rows.map((row) => ({
    key: row.key,
    requests: Number(row.requests),
    errors: Number(row.errors),
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    chargeNanos: row.charge_nanos,
  }));
}

/** One request of this account, for the live usage feed. */
export async function findAccountUsage(db: Db, accountId: string, requestId: string): Promise<UsageRecord | undefined> {
  const [row] = await db<UsageRow[]>`
    select ${db.unsafe(USAGE_COLUMNS)}
    from requests r left join request_charges rc on rc.request_id = r.id and rc.tenant_id = r.tenant_id
    where r.id = ${requestId} and r.account_id = ${accountId}::uuid`;
  return row ? usageFromRow(row) : undefined;
}

/** One request of the tenant, by its id (the request log's detail). */
export async function findTenantUsage(db: Db, tenantId: string, requestId: string): Promise<UsageRecord | undefined> {
  const [row] = await db<UsageRow[]>`
    select ${db.unsafe(USAGE_COLUMNS)}
    from requests r left join request_charges rc on rc.request_id = r.id and rc.tenant_id = r.tenant_id
    where r.id = ${requestId} and r.tenant_id = ${tenantId}::uuid`;
  return row ? usageFromRow(row) : undefined;
}
