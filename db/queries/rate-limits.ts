import type { Db } from '../sql.ts';

export type RateLimitPolicy = {
  requestsPerMinute: number | null;
  requestsPerHour: number | null;
  tokensPerMinute: number | null;
  concurrentRequests: number | null;
  spendPerDayNanos: bigint | null;
  spendPerMonthNanos: bigint | null;
};

export type PolicySubject = 'tenant' | 'account' | 'key';
export type SubjectPolicies = Partial<Record<PolicySubject, RateLimitPolicy>>;

type PolicyRow = {
  tenant_id: string | null;
  account_id: string | null;
  api_key_id: string | null;
  requests_per_minute: number | null;
  requests_per_hour: number | null;
  tokens_per_minute: number | null;
  concurrent_requests: number | null;
  spend_per_day_nanos: bigint | null;
  spend_per_month_nanos: bigint | null;
};

/** The policies that apply to one request: its key's, its account's and its tenant's, when set. */
export async function policiesFor(db: Db, ids: { tenantId: string; accountId: string; apiKeyId: string }): Promise<SubjectPolicies> {
  const rows = await db<PolicyRow[]>`
    select tenant_id, account_id, api_key_id, requests_per_minute, requests_per_hour, tokens_per_minute, concurrent_requests,
      spend_per_day_nanos, spend_per_month_nanos
    from rate_limit_policies
    where tenant_id = ${ids.tenantId}::uuid or account_id = ${ids.accountId}::uuid or api_key_id = ${ids.apiKeyId}::uuid`;
  const policies: SubjectPolicies = {};
  for (const row of rows) {
    const policy = {
      requestsPerMinute: row.requests_per_minute,
      requestsPerHour: row.requests_per_hour,
      tokensPerMinute: row.tokens_per_minute,
      concurrentRequests: row.concurrent_requests,
      spendPerDayNanos: row.spend_per_day_nanos,
      spendPerMonthNanos: row.spend_per_month_nanos,
    };
    if (row.api_key_id) policies.key = policy;
    else if (row.account_id) policies.account = policy;
    else policies.tenant = policy;
  }
  return policies;
}
