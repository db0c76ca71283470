import { daysAgo } from '$lib/days';
import { pageQuery } from '$lib/server/api';
import type { ApiKey, Balance, Connection, Money, Role, Status, UsageBucket, UsageRecord } from '$lib/types';
import type { PageServerLoad } from './$types';

/** One customer for the tenant's admins: balance, limits, keys, recent requests and ledger entries. */

const SUMMARY_DAYS = 30;
const RECENT_REQUESTS = 10;
const LEDGER_ENTRIES = 20;
const MONEY = '{ nanos usd }';

const CUSTOMER = `query CustomerPage($id: ID!, $from: DateTime!, $recent: Int!, $entries: Int!) {
  customer(id: $id) {
    id email displayName role status createdAt
    balance { available ${MONEY} held ${MONEY} paid ${MONEY} granted ${MONEY} }
    limits { appliesTo requestsPerMinute requestsPerHour tokensPerMinute concurrentRequests spendPerDay ${MONEY} spendPerMonth ${MONEY} }
    apiKeys(first: 100, includeRevoked: true) { edges { node { id name publicId active createdAt lastUsedAt revokedAt expiresAt allowedModels creditCap ${MONEY} spent ${MONEY} held ${MONEY} } } }
  }
  usage(filter: { accountId: $id }, first: $recent) { edges { node { id createdAt model route outcome statusCode promptTokens completionTokens charge ${MONEY} estimated apiKeyId } } }
  byModel: usageSummary(filter: { accountId: $id, from: $from }, groupBy: MODEL) { key requests errors promptTokens completionTokens charge ${MONEY} }
  ledgerEntries(accountId: $id, first: $entries) { edges { node { id kind cause reason funding amount ${MONEY} createdAt } } }
}`;

export type Limits = {
  appliesTo: string;
  requestsPerMinute: number | null;
  requestsPerHour: number | null;
  tokensPerMinute: number | null;
  concurrentRequests: number | null;
  spendPerDay: Money | null;
  spendPerMonth: Money | null;
};
type Customer = {
  id: string;
  email: string;
  displayName: string | null;
  role: Role;
  status: Status;
  createdAt: string;
  balance: Balance;
  limits: Limits | null;
  apiKeys: Connection<ApiKey>;
};
type Entry = {
  id: string;
  kind: string;
  cause: string;
  reason: string | null;
  funding: 'PAID' | 'GRANTED';
  amount: Money;
  createdAt: string;
};
type Answer = {
  customer: Customer;
  usage: Connection<UsageRecord>;
  byModel: UsageBucket[];
  ledgerEntries: Connection<Entry>;
};

export const load: PageServerLoad = async (event) => {
  const data = await pageQuery<Answer>(event, CUSTOMER, {
    id: event.params.id,
    from: daysAgo(SUMMARY_DAYS - 1).toISOString(),
    recent: RECENT_REQUESTS,
    entries: LEDGER_ENTRIES,
  });
  const keys = data.customer.apiKeys.edges.map((e) => e.node);
  return {
    customer: data.customer,
    keys,
    keyNames: Object.fromEntries(keys.map((k) => [k.id, k.name])),
    recent: data.usage.edges.map((e) => e.node),
    byModel: [...data.byModel].sort((a, b) => b.requests - a.requests),
    spent: data.byModel.reduce((sum, b) => sum + BigInt(b.charge.nanos), 0n),
    requests: data.byModel.reduce((sum, b) => sum + b.requests, 0),
    entries: data.ledgerEntries.edges.map((e) => e.node),
  };
};
