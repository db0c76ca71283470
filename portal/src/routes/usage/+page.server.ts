import { pageQuery } from '$lib/server/api';
import { requestDetail } from '$lib/server/request-detail';
import { rangeProblem, readUsageQuery, usageFilter, usageSearch } from '$lib/server/usage-filter';
import { requireAccount } from '$lib/server/viewer';
import type { Connection, UsageBucket, UsageRecord } from '$lib/types';
import type { PageServerLoad } from './$types';

const PAGE_SIZE = 25;

const USAGE = `query Usage($filter: UsageFilter, $first: Int, $last: Int, $after: String, $before: String) {
  usage(filter: $filter, first: $first, last: $last, after: $after, before: $before) {
    edges { node { id createdAt model route protocol outcome statusCode errorCode promptTokens completionTokens charge { nanos usd } estimated stream latencyMs apiKeyId } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
  byModel: usageSummary(filter: $filter, groupBy: MODEL) { key requests errors promptTokens completionTokens charge { nanos usd } }
  viewer { account { apiKeys(first: 100, includeRevoked: true) { edges { node { id name publicId } } } } }
  models { id }
}`;

type Data = {
  usage: Connection<UsageRecord>;
  byModel: UsageBucket[];
  viewer: { account: { apiKeys: Connection<{ id: string; name: string; publicId: string }> } | null } | null;
  models: { id: string }[];
};

export const load: PageServerLoad = async (event) => {
  requireAccount(event);
  // A customer's log is always their own: another account's id in the address is ignored.
  const query = { ...readUsageQuery(event.url.searchParams), account: '' };
  const before = event.url.searchParams.get('before');
  const after = event.url.searchParams.get('after');
  const page = before ? { last: PAGE_SIZE, before } : { first: PAGE_SIZE, after: after ?? null };
  const [data, drawer] = await Promise.all([pageQuery<Data>(event, USAGE, { filter: usageFilter(query), ...page }), requestDetail(event)]);
  const keys = data.viewer?.account?.apiKeys.edges.map((e) => e.node) ?? [];
  return {
    query,
    rangeError: rangeProblem(query),
    records: data.usage.edges.map((e) => e.node),
    pageInfo: data.usage.pageInfo,
    byModel: [...data.byModel].sort((a, b) => b.requests - a.requests),
    keys,
    keyNames: Object.fromEntries(keys.map((k) => [k.id, k.name])),
    models: data.models.map((m) => m.id),
    exportHref: `/usage/export${usageSearch(query)}`,
    ...drawer,
  };
};
