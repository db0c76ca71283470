import { gql } from '$lib/server/api';
import { customerBaseUrl } from '$lib/server/config';
import { requireAccount } from '$lib/server/viewer';
import { daysAgo, lastDays, startOfUtcDay, startOfUtcMonth } from '$lib/days';
import type { Balance, Connection, EffectiveLimits, UsageBucket, UsageRecord } from '$lib/types';
import type { PageServerLoad } from './$types';

/** Days in the spend chart, and how many models get their own colour (the rest are "Other"). */
const CHART_DAYS = 30;
const CHART_MODELS = 4;
const RECENT_REQUESTS = 8;

const POLICY = 'subjectKind requestsPerMinute requestsPerHour tokensPerMinute concurrentRequests spendPerDay { nanos usd } spendPerMonth { nanos usd }';

const OVERVIEW = `query Dashboard($chartFrom: DateTime!, $monthFrom: DateTime!, $todayFrom: DateTime!, $recent: Int!) {
  viewer { account { balance { available { nanos usd } held { nanos usd } paid { nanos usd } granted { nanos usd } } effectiveLimits { account { ${POLICY} } wholeTenant { ${POLICY} } spentToday { nanos usd } spentThisMonth { nanos usd } } } }
  days: usageSummary(groupBy: DAY, filter: { from: $chartFrom }) { key requests errors charge { nanos usd } }
  models: usageSummary(groupBy: MODEL, filter: { from: $chartFrom }) { key requests charge { nanos usd } }
  month: usageSummary(groupBy: MODEL, filter: { from: $monthFrom }) { key requests charge { nanos usd } }
  today: usageSummary(groupBy: MODEL, filter: { from: $todayFrom }) { key requests charge { nanos usd } }
  usage(first: $recent) { edges { node { id createdAt model outcome statusCode promptTokens completionTokens charge { nanos usd } estimated } } }
  catalog: models { id }
}`;

type Bucket = Pick<UsageBucket, 'key' | 'requests' | 'charge'> & { errors?: number };
type Overview = {
  viewer: { account: { balance: Balance; effectiveLimits: EffectiveLimits } | null } | null;
  days: Bucket[];
  models: Bucket[];
  month: Bucket[];
  today: Bucket[];
  usage: Connection<Pick<UsageRecord, 'id' | 'createdAt' | 'model' | 'outcome' | 'statusCode' | 'promptTokens' | 'completionTokens' | 'charge' | 'estimated'>>;
  catalog: { id: string }[];
};

function total(buckets: Bucket[]): { nanos: string; requests: number } {
  return {
    nanos: buckets.reduce((sum, b) => sum + BigInt(b.charge.nanos), 0n).toString(),
    requests: buckets.reduce((sum, b) => sum + b.requests, 0),
  };
}

/** Day buckets of the top models, one aliased field each, so the chart can stack them. */
async function modelDays(event: Parameters<PageServerLoad>[0], models: string[], from: string): Promise<Record<string, Bucket[]>> {
  if (models.length === 0) return {};
  const variables: Record<string, unknown> = { from };
  const fields = models.map((model, i) => {
    variables[`m${i}`] = model;
    return `m${i}: usageSummary(groupBy: DAY, filter: { from: $from, model: $m${i} }) { key requests charge { nanos usd } }`;
  });
  const declarations = models.map((_, i) => `$m${i}: String!`).join(', ');
  const data = await gql<Record<string, Bucket[]>>(event, `query ModelDays($from: DateTime!, ${declarations}) { ${fields.join(' ')} }`, variables);
  return Object.fromEntries(models.map((model, i) => [model, data[`m${i}`] ?? []]));
}

export const load: PageServerLoad = async (event) => {
  requireAccount(event);
  const now = new Date();
  const chartFrom = daysAgo(CHART_DAYS - 1, now).toISOString();
  const data = await gql<Overview>(event, OVERVIEW, {
    chartFrom,
    monthFrom: startOfUtcMonth(now).toISOString(),
    todayFrom: startOfUtcDay(now).toISOString(),
    recent: RECENT_REQUESTS,
  });
  const top = [...data.models].sort((a, b) => (BigInt(b.charge.nanos) > BigInt(a.charge.nanos) ? 1 : -1)).slice(0, CHART_MODELS);
  const perModel = await modelDays(event, top.map((m) => m.key), chartFrom);

  const labels = lastDays(CHART_DAYS, now);
  const byDay = (buckets: Bucket[]) => {
    const map = new Map(buckets.map((b) => [b.key.slice(0, 10), Number(BigInt(b.charge.nanos))]));
    return labels.map((day) => map.get(day) ?? 0);
  };
  const totals = byDay(data.days);
  const series = top.map((m) => ({ name: m.key, values: byDay(perModel[m.key] ?? []) }));
  const other = totals.map((value, i) => Math.max(0, value - series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0)));
  if (other.some((v) => v > 0)) series.push({ name: 'Other models', values: other });

  return {
    balance: data.viewer?.account?.balance ?? null,
    limits: data.viewer?.account?.effectiveLimits ?? null,
    today: total(data.today),
    month: total(data.month),
    chart: { labels, series },
    models: [...data.models].sort((a, b) => b.requests - a.requests),
    recent: data.usage.edges.map((e) => e.node),
    baseUrl: customerBaseUrl(event.locals.branding),
    exampleModel: data.catalog[0]?.id ?? 'openai/gpt-4o-mini',
    welcome: event.url.searchParams.has('welcome'),
  };
};
