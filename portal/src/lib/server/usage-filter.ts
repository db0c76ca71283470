/**
 * The usage filters as URL search parameters (so a filtered page can be bookmarked, paged and
 * exported) and as the API's UsageFilter. Dates are whole UTC days; `to` includes its day.
 */

const OUTCOMES = ['COMPLETED', 'FAILED', 'ABORTED', 'REFUSED'] as const;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 24 * 3600_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type UsageQuery = { from: string; to: string; model: string; outcome: string; key: string; account: string };
export type UsageFilter = { from?: string; to?: string; model?: string; outcome?: (typeof OUTCOMES)[number]; apiKeyId?: string; accountId?: string };

export function readUsageQuery(params: URLSearchParams): UsageQuery {
  const day = (name: string) => {
    const value = params.get(name) ?? '';
    return DAY.test(value) && !Number.isNaN(Date.parse(value)) ? value : '';
  };
  const uuid = (name: string) => (UUID.test(params.get(name) ?? '') ? (params.get(name) ?? '') : '');
  const outcome = params.get('outcome') ?? '';
  return {
    from: day('from'),
    to: day('to'),
    model: (params.get('model') ?? '').slice(0, 200),
    outcome: (OUTCOMES as readonly string[]).includes(outcome) ? outcome : '',
    key: uuid('key'),
    account: uuid('account'),
  };
}

/** Why the date range cannot be applied (From after To), for the page to say; null when it can. */
export function rangeProblem(query: UsageQuery): string | null {
  return query.from && query.to && query.from > query.to ? `“From” (${query.from}) is after “To” (${query.to}): pick a From on or before the To date.` : null;
}

/** The API's filter; a range that cannot be applied (see rangeProblem) is left out rather than refused. */
export function usageFilter(query: UsageQuery): UsageFilter {
  if (rangeProblem(query)) return usageFilter({ ...query, from: '', to: '' });
  const filter: UsageFilter = {};
  if (query.from) filter.from = new Date(`${query.from}T00:00:00Z`).toISOString();
  if (query.to) filter.to = new Date(Date.parse(`${query.to}T00:00:00Z`) + DAY_MS).toISOString();
  if (query.model) filter.model = query.model;
  if (query.outcome) filter.outcome = query.outcome as UsageFilter['outcome'];
  if (query.key) filter.apiKeyId = query.key;
  if (query.account) filter.accountId = query.account;
  return filter;
}

export function usageSearch(query: UsageQuery): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value) params.set(name, value);
  const text = params.toString();
  return text ? `?${text}` : '';
}
