import type { Db } from '../sql.ts';

/**
 * Rate-limit and spending policies: the gateway reads the ones that apply to a request; tenant
 * admins manage them, every read and write scoped to the tenant. The model (issue 21.1):
 * - a tenant's policy is the default of each of its accounts, counted for each account apart;
 * - an account's own policy replaces that default for the account;
 * - a key's own policy applies on top of its account's;
 * - a whole-tenant policy caps the tenant as a whole, all of its customers counted together.
 */

export type PolicyLimits = {
  requestsPerMinute: number | null;
  requestsPerHour: number | null;
  tokensPerMinute: number | null;
  concurrentRequests: number | null;
  spendPerDayNanos: bigint | null;
  spendPerMonthNanos: bigint | null;
};

/** `tenant` is the tenant's default for each account; `wholeTenant` its cap on all customers together. */
export type PolicySubjectRef =
  | { kind: 'tenant'; id: string }
  | { kind: 'wholeTenant'; id: string }
  | { kind: 'account'; id: string }
  | { kind: 'apiKey'; id: string };

export type StoredPolicy = PolicyLimits & { id: string; subject: PolicySubjectRef; updatedAt: Date };

type PolicyRow = {
  id: string;
  tenant_id: string | null;
  whole_tenant_id: string | null;
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
  if (row.whole_tenant_id) return { kind: 'wholeTenant', id: row.whole_tenant_id };
  return { kind: 'tenant', id: row.tenant_id ?? '' };
}

function policyFromRow(row: PolicyRow): StoredPolicy {
  return { id: row.id, subject: subjectOf(row), ...limitsFromRow(row), updatedAt: row.updated_at };
}

/** Policies of the tenant itself (default and whole), its accounts and their keys. Bounded by its keys. */
export async function listTenantPolicies(db: Db, tenantId: string): Promise<StoredPolicy[]> {
  const rows = await db<PolicyRow[]>`
    select p.* from rate_limit_policies p
      left join accounts a on a.id = p.account_id
      left join api_keys k on k.id = p.api_key_id left join accounts ka on ka.id = k.account_id
    where p.tenant_id = ${tenantId}::uuid or p.whole_tenant_id = ${tenantId}::uuid
      or a.tenant_id = ${tenantId}::uuid or ka.tenant_id = ${tenantId}::uuid
    order by p.updated_at desc, p.id`;
  return rows.map(policyFromRow);
}

const COLUMN: Record<PolicySubjectRef['kind'], string> = {
  tenant: 'tenant_id',
  wholeTenant: 'whole_tenant_id',
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
      p.tenant_id = ${tenantId}::uuid or p.whole_tenant_id = ${tenantId}::uuid
      or exists (select 1 from accounts a where a.id = p.account_id and a.tenant_id = ${tenantId}::uuid)
      or exists (select 1 from api_keys k join accounts a on a.id = k.account_id where k.id = p.api_key_id and a.tenant_id = ${tenantId}::uuid))`;
  return result.count > 0;
}

/** The policy counted for an account alone: its own if set, else its tenant's default. */
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

export async function wholeTenantPolicy(db: Db, tenantId: string): Promise<StoredPolicy | undefined> {
  const [row] = await db<PolicyRow[]>`select * from rate_limit_policies where whole_tenant_id = ${tenantId}::uuid`;
  return row ? policyFromRow(row) : undefined;
}

/**
 * The names the gateway's limits use for what it counts (in counter names, messages and headers):
 * one key, one account (under its own policy or the tenant default), or the tenant as a whole.
 */
export type PolicySubject = 'tenant' | 'account' | 'key';
export type SubjectPolicies = Partial<Record<PolicySubject, PolicyLimits>>;
/** `accountSource` says whether the account's limits are its own or its tenant's default. */
export type AppliedPolicies = { subjects: SubjectPolicies; accountSource: 'account' | 'tenantDefault' | null };

/** The policies that apply to one request: its key's, its account's (or the default) and the whole tenant's. */
export async function policiesFor(
  db: Db,
  ids: { tenantId: string; accountId: string; apiKeyId: string },
): Promise<AppliedPolicies> {
  const rows = await db<PolicyRow[]>`
    select * from rate_limit_policies
    where tenant_id = ${ids.tenantId}::uuid or whole_tenant_id = ${ids.tenantId}::uuid
      or account_id = ${ids.accountId}::uuid or api_key_id = ${ids.apiKeyId}::uuid`;
  const found = new Map(rows.map((row) => [subjectOf(row).kind, limitsFromRow(row)]));
  const own = found.get('account');
  const account = own ?? found.get('tenant');
  const subjects: SubjectPolicies = {};
  const key = found.get('apiKey');
  const whole = found.get('wholeTenant');
  if (key) subjects.key = key;
  if (account) subjects.account = account;
  if (whole) subjects.tenant = whole;
  return { subjects, accountSource: own ? 'account' : account ? 'tenantDefault' : null };
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
