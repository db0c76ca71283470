import { gql } from '$lib/server/api';
import { daysAgo } from '$lib/days';
import type { Money } from '$lib/types';
import type { PageServerLoad } from './$types';

const RANGES: Record<string, { days: number; interval: 'DAY' | 'MONTH' }> = {
  '7d': { days: 7, interval: 'DAY' },
  '30d': { days: 30, interval: 'DAY' },
  '90d': { days: 90, interval: 'DAY' },
  '12m': { days: 365, interval: 'MONTH' },
};

export type Period = { period: string; revenue: Money; cost: Money; profit: Money; marginBps: number | null; requests: number; errors: number; activeCustomers: number };

const REPORT = `query Report($from: DateTime!, $interval: ReportInterval!) {
  report(from: $from, interval: $interval) {
    totals { revenue { nanos usd } cost { nanos usd } profit { nanos usd } marginBps requests errors activeCustomers }
    series { period revenue { nanos usd } cost { nanos usd } profit { nanos usd } marginBps requests errors activeCustomers }
    popularModels(limit: 8) { model requests revenue { nanos usd } cost { nanos usd } }
    errorsByModel: errorRates(by: MODEL, limit: 8) { key errors requests rateBps }
    errorsByCode: errorRates(by: CODE, limit: 8) { key errors requests rateBps }
  }
}`;

type ErrorRate = { key: string; errors: number; requests: number; rateBps: number };
type Report = {
  totals: Omit<Period, 'period'>;
  series: Period[];
  popularModels: { model: string; requests: number; revenue: Money; cost: Money }[];
  errorsByModel: ErrorRate[];
  errorsByCode: ErrorRate[];
};

export const load: PageServerLoad = async (event) => {
  const rangeName = event.url.searchParams.get('range') ?? '30d';
  const range = RANGES[rangeName] ?? RANGES['30d']!;
  const { report } = await gql<{ report: Report }>(event, REPORT, { from: daysAgo(range.days - 1).toISOString(), interval: range.interval });
  return { report, range: RANGES[rangeName] ? rangeName : '30d', interval: range.interval };
};
