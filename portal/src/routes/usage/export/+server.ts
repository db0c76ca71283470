import { error } from '@sveltejs/kit';
import { pageQuery } from '$lib/server/api';
import { rangeProblem, readUsageQuery, usageFilter } from '$lib/server/usage-filter';
import { requireAccount } from '$lib/server/viewer';
import type { RequestHandler } from './$types';

/** The filtered request log as a CSV download, produced by the API (at most 50 000 rows). */
export const GET: RequestHandler = async (event) => {
  requireAccount(event);
  const query = { ...readUsageQuery(event.url.searchParams), account: '' };
  const problem = rangeProblem(query);
  if (problem) error(400, problem);
  const { usageCsv } = await pageQuery<{ usageCsv: string }>(event, 'query UsageCsv($filter: UsageFilter) { usageCsv(filter: $filter) }', { filter: usageFilter(query) });
  const stamp = new Date().toISOString().slice(0, 10);
  return new Response(usageCsv, {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="usage-${stamp}.csv"`,
      'cache-control': 'no-store',
    },
  });
};
