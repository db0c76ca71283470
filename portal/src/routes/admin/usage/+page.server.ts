import { pageQuery } from '$lib/server/api';
import { accountEmails, keyLabels } from '$lib/server/names';
import { requestDetail } from '$lib/server/request-detail';
import { rangeProblem, readUsageQuery, usageFilter } from '$lib/server/usage-filter';
import type { Connection, UsageRecord } from '$lib/types';
import type { PageServerLoad } from './$types';

/** The request log across the tenant's customers, for its admins, with the same drawer as a customer's. */

const PAGE_SIZE = 25;

const LOG = `query TenantLog($filter: UsageFilter, $first: Int, $last: Int, $after: String, $before: String) {
  usage(filter: $filter, first: $first, last: $last, after: $after, before: $before) {
    edges { node { id createdAt model route protocol outcome statusCode errorCode promptTokens completionTokens charge { nanos usd } estimated stream latencyMs apiKeyId accountId } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
  models { id }
}`;

export const load: PageServerLoad = async (event) => {
  const query = readUsageQuery(event.url.searchParams);
  const before = event.url.searchParams.get('before');
  const page = before ? { last: PAGE_SIZE, before } : { first: PAGE_SIZE, after: event.url.searchParams.get('after') };
  const [data, drawer] = await Promise.all([
    pageQuery<{ usage: Connection<UsageRecord & { accountId: string }>; models: { id: string }[] }>(event, LOG, {
      filter: usageFilter(query),
      ...page,
    }),
    requestDetail(event),
  ]);
  const records = data.usage.edges.map((e) => e.node);
  const accounts = [
    ...records.map((r) => r.accountId),
    ...(drawer.detail?.accountId ? [drawer.detail.accountId] : []),
    ...(query.account ? [query.account] : []),
  ];
  const keys = [...records.map((r) => r.apiKeyId), drawer.detail?.apiKeyId ?? null].filter(
    (id): id is string => id !== null,
  );
  const [emails, labels] = await Promise.all([accountEmails(event, accounts), keyLabels(event, keys)]);
  return {
    query,
    rangeError: rangeProblem(query),
    records,
    pageInfo: data.usage.pageInfo,
    models: data.models.map((m) => m.id),
    emails,
    keyNames: Object.fromEntries(Object.entries(labels).map(([id, k]) => [id, k.label])),
    ...drawer,
  };
};
