/**
 * The usage filters as URL search parameters (so a filtered page can be bookmarked, paged and
 * exported) and as the API's UsageFilter. Dates are whole UTC days; `to` includes its day.
 */

const OUTCOMES = ['COMPLETED', 'FAILED', 'ABORTED', 'REFUSED'] as const;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 24 * 3600_000;

export type UsageQuery = { from: string; to: string; model: string; outcome: string; key: string };
export type UsageFilter = { from?: string; to?: string; model?: string; outcome?: (typeof OUTCOMES)[number]; apiKeyId?: string };

export function readUsageQuery(params: URLSearchParams): UsageQuery {
  const day = (name: string) => {
    const value = params.get(name) ?? '';
    return DAY.test(value) && !Number.isNaN(Date.parse(value)) ? value : '';
  };
  const outcome = params.get('outcome') ?? '';
  return {
    from: day('from'),
    to: day('to'),
    model: (params.get('model') ?? '').slice(0, 200),
    outcome: (OUTCOMES as readonly string[]).includes(outcome) ? outcome : '',
    key: /^[0-9a-f-]{36}$/i.test(params.get('key') ?? '') ? (params.get('key') ?? '') : '',
  };
}

export function usageFilter(query: UsageQuery): UsageFilter {
  const filter: UsageFilter = {};
  if (query.from) filter.from = new Date(`${query.from}T00:00:00Z`).toISOString();
  if (query.to) filter.to = new Date(Date.parse(`${query.to}T00:00:00Z`) + DAY_MS).toISOString();
  if (query.model) filter.model = query.model;
  if (query.outcome) filter.outcome = query.outcome as UsageFilter['outcome'];
  if (query.key) filter.apiKeyId = query.key;
  return filter;
}

export function usageSearch(query: UsageQuery): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value) params.set(name, value);
  const text = params.toString();
  return text ? `?${text}` : '';
}
