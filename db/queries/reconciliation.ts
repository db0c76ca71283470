import type { Db } from '../sql.ts';

/**
 * What reconciliation reads: settled requests that name an upstream generation, in a time window,
 * page by page in (created_at, id) order, and what each tenant level of them was charged.
 */

export type RecordedRequest = {
  id: string;
  tenantId: string;
  walletId: bigint;
  model: string | null;
  generationId: string;
  costNanos: bigint;
  chargeNanos: bigint;
  /** The channel that served it; null for requests older than channels (the default channel). */
  channelId: string | null;
  createdAt: Date;
};

type RequestRow = {
  id: string;
  tenant_id: string;
  wallet_id: bigint;
  model: string | null;
  generation_id: string;
  cost_nanos: bigint;
  charge_nanos: bigint;
  channel_id: string | null;
  created_at: Date;
};

/** `afterId`: the last request of the previous page; its exact time is read back (a Date would lose microseconds). */
export async function recordedRequestsPage(
  db: Db,
  window: { since: Date; until: Date },
  afterId: string | null,
  limit: number,
): Promise<RecordedRequest[]> {
  const rows = await db<RequestRow[]>`
    select r.id, r.tenant_id, w.id as wallet_id, r.model, r.generation_id, r.cost_nanos, r.charge_nanos, r.channel_id, r.created_at
    from requests r join wallets w on w.account_id = r.account_id
    where r.generation_id is not null and r.created_at >= ${window.since} and r.created_at < ${window.until}
      ${afterId === null ? db`` : db`and (r.created_at, r.id) > (select created_at, id from requests where id = ${afterId})`}
    order by r.created_at, r.id
    limit ${limit}`;
  return rows.map((row) => ({
    id: row.id,
    tenantId: row.tenant_id,
    walletId: row.wallet_id,
    model: row.model,
    generationId: row.generation_id,
    costNanos: row.cost_nanos,
    chargeNanos: row.charge_nanos,
    channelId: row.channel_id,
    createdAt: row.created_at,
  }));
}

/** Per request, what each tenant level charged the level below it (its revenue), by tenant id. */
export async function levelRevenues(db: Db, requestIds: readonly string[]): Promise<Map<string, Map<string, bigint>>> {
  const found = new Map<string, Map<string, bigint>>();
  if (requestIds.length === 0) return found;
  const rows = await db<{ request_id: string; tenant_id: string; revenue_nanos: bigint }[]>`
    select request_id, tenant_id, revenue_nanos from request_charges where request_id = any(${[...requestIds]}::text[])`;
  for (const row of rows) {
    const levels = found.get(row.request_id) ?? new Map<string, bigint>();
    levels.set(row.tenant_id, row.revenue_nanos);
    found.set(row.request_id, levels);
  }
  return found;
}

/** Request ids among these whose reconciliation adjustment is already in the ledger. */
export async function reconciledRequests(db: Db, causes: readonly string[]): Promise<Set<string>> {
  if (causes.length === 0) return new Set();
  const rows = await db<
    { cause: string }[]
  >`select cause from transfers where kind = 'adjustment' and cause = any(${[...causes]}::text[])`;
  return new Set(rows.map((row) => row.cause));
}
