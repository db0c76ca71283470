import type { Db } from '../sql.ts';

/**
 * Rate-limit and spending policies: the gateway reads the ones that apply to a request; tenant
 * admins manage them, every read and write scoped to the tenant, whether the policy is the
 * tenant's own, one of its accounts' or one of its keys'.
 */

export type PolicyLimits = {
  requestsPerMinute: number | null;
  requestsPerHour: number | null;
  tokensPerMinute: number | null;
  concurrentRequests: number | null;
  spendPerDayNanos: bigint | null;
  spendPerMonthNanos: bigint | null;
};

export type PolicySubjectRef =
  | { kind: 'tenant'; id: string }
  | { kind: 'account'; id: string }
  | { kind: 'apiKey'; id: string };

export type StoredPolicy = PolicyLimits & { id: string; subject: PolicySubjectRef; updatedAt: Date };

type PolicyRow = {
  id: string;
  tenant_id: string | null;
  account_id: string | null;
  api_key_id: string | null;
  requests_per_minute: number | null;
  requests_per_hour: number | null;
  tokens_per_minute: number | null;
  concurrent_requests: number | null;
  spend_per_day_nanos: bigint | null;
  spend_per_month_nanos: bigint | null;
  updated_at: Date;
};

function limitsFromRow(row: PolicyRow): PolicyLimits {
  return {
    requestsPerMinute: row.requests_per_minute,
    requestsPerHour: row.requests_per_hour,
    tokensPerMinute: row.tokens_per_minute,
    concurrentRequests: row.concurrent_requests,
    spendPerDayNanos: row.spend_per_day_nanos,
    spendPerMonthNanos: row.spend_per_month_nanos,
  };
}

function subjectOf(row: PolicyRow): PolicySubjectRef {
  if (row.api_key_id) return { kind: 'apiKey', id: row.api_key_id };
  if (row.account_id) return { kind: 'account', id: row.account_id };
  return { kind: 'tenant', id: row.tenant_id ?? '' };
}

function policyFromRow(row: PolicyRow): StoredPolicy {
  return { id: row.id, subject: subjectOf(row), ...limitsFromRow(row), updatedAt: row.updated_at };
}

/** Policies of the tenant itself, its accounts and their keys. A tenant has few; the list is bounded by its keys. */
export async function listTenantPolicies(db: Db, tenantId: string): Promise<StoredPolicy[]> {
  const rows = await db<PolicyRow[]>`
    select p.* from rate_limit_policies p
      left join accounts a on a.id = p.account_id
      left join api_keys k on k.id = p.api_key_id left join accounts ka on ka.id = k.account_id
    where p.tenant_id = ${tenantId}::uuid or a.tenant_id = ${tenantId}::uuid or ka.tenant_id = ${tenantId}::uuid
    order by p.updated_at desc, p.id`;
  return rows.map(policyFromRow);
}

const COLUMN: Record<PolicySubjectRef['kind'], string> = {
  tenant: 'tenant_id',
  account: 'account_id',
  apiKey: 'api_key_id',
};

/** Sets the one policy of a subject; the caller has checked that the subject is in its tenant. */
export async function upsertPolicy(db: Db, subject: PolicySubjectRef, limits: PolicyLimits): Promise<StoredPolicy> {
  const column = db.unsafe(COLUMN[subject.kind]);
  const [row] = await db<PolicyRow[]>`
    insert into rate_limit_policies (${column}, requests_per_minute, requests_per_hour, tokens_per_minute, concurrent_requests,
      spend_per_day_nanos, spend_per_month_nanos, updated_at)
    values (${subject.id}::uuid, ${limits.requestsPerMinute}, ${limits.requestsPerHour}, ${limits.tokensPerMinute}, ${limits.concurrentRequests},
      ${limits.spendPerDayNanos?.toString() ?? null}::int8, ${limits.spendPerMonthNanos?.toString() ?? null}::int8, now())
    on conflict (${column}) where ${column} is not null do update set
      requests_per_minute = excluded.requests_per_minute, requests_per_hour = excluded.requests_per_hour,
      tokens_per_minute = excluded.tokens_per_minute, concurrent_requests = excluded.concurrent_requests,
      spend_per_day_nanos = excluded.spend_per_day_nanos, spend_per_month_nanos = excluded.spend_per_month_nanos, updated_at = now()
    returning *`;
  if (!row) throw new Error('policy upsert returned nothing');
  return policyFromRow(row);
}

export async function deleteTenantPolicy(db: Db, tenantId: string, policyId: string): Promise<boolean> {
  const result = await db`
    delete from rate_limit_policies p where p.id = ${policyId}::uuid and (
      p.tenant_id = ${tenantId}::uuid
      or exists (select 1 from accounts a where a.id = p.account_id and a.tenant_id = ${tenantId}::uuid)
      or exists (select 1 from api_keys k join accounts a on a.id = k.account_id where k.id = p.api_key_id and a.tenant_id = ${tenantId}::uuid))`;
  return result.count > 0;
}

/** The policy that governs an account: its own if set, else its tenant's. */
export async function effectiveAccountPolicy(
  db: Db,
  tenantId: string,
  accountId: string,
): Promise<StoredPolicy | undefined> {
  const [row] = await db<PolicyRow[]>`
    select * from rate_limit_policies where account_id = ${accountId}::uuid or tenant_id = ${tenantId}::uuid
    order by account_id is null limit 1`;
  return row ? policyFromRow(row) : undefined;
}

/** The names the gateway's limits use for the three subjects (in keys, messages and headers). */
export type PolicySubject = 'tenant' | 'account' | 'key';
export type SubjectPolicies = Partial<Record<PolicySubject, PolicyLimits>>;

/** The policies that apply to one request: its key's, its account's and its tenant's, when set. */
export async function policiesFor(
  db: Db,
  ids: { tenantId: string; accountId: string; apiKeyId: string },
): Promise<SubjectPolicies> {
  const rows = await db<PolicyRow[]>`
    select * from rate_limit_policies
    where tenant_id = ${ids.tenantId}::uuid or account_id = ${ids.accountId}::uuid or api_key_id = ${ids.apiKeyId}::uuid`;
  const policies: SubjectPolicies = {};
  for (const row of rows) {
    const { kind } = subjectOf(row);
    policies[kind === 'apiKey' ? 'key' : kind] = limitsFromRow(row);
  }
  return policies;
}

const SPEND_COLUMN: Record<PolicySubject, string> = { key: 'api_key_id', account: 'account_id', tenant: 'tenant_id' };

/**
 * What a key, an account or all of a tenant's customers were charged in [since, until), from the
 * usage log: where a spending counter starts (limits/spend-seeds.ts).
 */
export async function periodSpendNanos(
  db: Db,
  subject: { kind: PolicySubject; id: string },
  since: Date,
  until: Date,
): Promise<bigint> {
  const [row] = await db<{ charged: bigint }[]>`
    select coalesce(sum(charge_nanos), 0)::int8 as charged from requests
    where ${db.unsafe(SPEND_COLUMN[subject.kind])} = ${subject.id}::uuid
      and created_at >= ${since} and created_at < ${until}`;
  return row?.charged ?? 0n;
}
