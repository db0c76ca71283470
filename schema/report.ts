import {
  activeCustomers,
  errorRates,
  moneyByPeriod,
  popularModels,
  trafficByPeriod,
  writeOffs,
  type ErrorShare,
  type ModelShare,
  type ReportInterval,
  type ReportRange,
  type WriteOffBucket,
} from '../db/queries/reports.ts';
import type { Db } from '../db/sql.ts';
import { builder } from './builder.ts';
import { invalidInput } from './errors.ts';
import { MoneyRef } from './money.ts';

/**
 * Tenant admin: business reports over a date range (UTC). Revenue is what the tenant charged
 * (its customers, and its resellers at wholesale); cost is what it paid (the upstream for the root
 * tenant, its parent for a reseller); written off is the part of its revenue a wallet could not
 * pay when an upstream reported more than was held (docs/architecture.md, settlement policy);
 * profit (revenue − cost − written off) and margin follow. Each part is queried only when asked for.
 */

type Report = { range: ReportRange; interval: ReportInterval };
type Money = { revenueNanos: bigint; costNanos: bigint; writtenOffNanos: bigint };
type Totals = Money & { requests: number; errors: number; activeCustomers: number };
type Period = Totals & { period: string };

const profit = (m: Money) => m.revenueNanos - m.costNanos - m.writtenOffNanos;

/** Profit in basis points of revenue, rounded toward zero; null when there was no revenue. */
function marginBps(m: Money): number | null {
  return m.revenueNanos === 0n ? null : Number((profit(m) * 10_000n) / m.revenueNanos);
}

const IntervalEnum = builder.enumType('ReportInterval', {
  values: { DAY: { value: 'day' }, MONTH: { value: 'month' } } as const,
});

const PeriodRef = builder.objectRef<Period>('ReportPeriod').implement({
  fields: (t) => ({
    period: t.exposeString('period', { description: 'The first day of the period, YYYY-MM-DD (UTC).' }),
    revenue: t.field({ type: MoneyRef, resolve: (p) => p.revenueNanos }),
    cost: t.field({ type: MoneyRef, resolve: (p) => p.costNanos }),
    writtenOff: t.field({ type: MoneyRef, resolve: (p) => p.writtenOffNanos }),
    profit: t.field({ type: MoneyRef, resolve: profit }),
    marginBps: t.int({ nullable: true, resolve: marginBps }),
    requests: t.exposeInt('requests'),
    errors: t.exposeInt('errors'),
    activeCustomers: t.exposeInt('activeCustomers'),
  }),
});

const TotalsRef = builder.objectRef<Totals>('ReportTotals').implement({
  fields: (t) => ({
    revenue: t.field({ type: MoneyRef, resolve: (p) => p.revenueNanos }),
    cost: t.field({
      type: MoneyRef,
      description: 'The upstream cost for the root tenant; the wholesale cost for a reseller.',
      resolve: (p) => p.costNanos,
    }),
    writtenOff: t.field({
      type: MoneyRef,
      description: 'Revenue a wallet could not pay (charges above their holds), written off to the uncollected book.',
      resolve: (p) => p.writtenOffNanos,
    }),
    profit: t.field({ type: MoneyRef, description: 'Revenue less cost less written off.', resolve: profit }),
    marginBps: t.int({
      nullable: true,
      description: 'Profit over revenue in basis points; null without revenue.',
      resolve: marginBps,
    }),
    requests: t.exposeInt('requests'),
    errors: t.exposeInt('errors'),
    activeCustomers: t.exposeInt('activeCustomers', {
      description: 'Distinct accounts with at least one request in the range.',
    }),
  }),
});

const ModelShareRef = builder.objectRef<ModelShare>('ModelShare').implement({
  fields: (t) => ({
    model: t.exposeString('model'),
    requests: t.exposeInt('requests'),
    promptTokens: t.field({ type: 'Count', resolve: (m) => m.promptTokens }),
    completionTokens: t.field({ type: 'Count', resolve: (m) => m.completionTokens }),
    revenue: t.field({ type: MoneyRef, resolve: (m) => m.revenueNanos }),
    cost: t.field({ type: MoneyRef, resolve: (m) => m.costNanos }),
  }),
});

const WriteOffRef = builder.objectRef<WriteOffBucket>('WriteOff').implement({
  description: 'What the tenant wrote off in one period on one model.',
  fields: (t) => ({
    period: t.exposeString('period', { description: 'The first day of the period, YYYY-MM-DD (UTC).' }),
    model: t.exposeString('model'),
    requests: t.exposeInt('requests'),
    amount: t.field({ type: MoneyRef, resolve: (w) => w.writtenOffNanos }),
  }),
});

const ErrorRateRef = builder.objectRef<ErrorShare>('ErrorRate').implement({
  fields: (t) => ({
    key: t.exposeString('key', {
      description: 'The model id, or the error code (the HTTP status when there is none).',
    }),
    requests: t.exposeInt('requests'),
    errors: t.exposeInt('errors'),
    rateBps: t.int({
      description: 'Errors per 10 000 requests.',
      resolve: (e) => (e.requests === 0 ? 0 : Math.floor((e.errors * 10_000) / e.requests)),
    }),
  }),
});

const ErrorGroupingEnum = builder.enumType('ErrorGrouping', {
  values: { MODEL: { value: 'model' }, CODE: { value: 'code' } } as const,
});
const MAX_ROWS = 100;

async function series(report: Report, sql: Db): Promise<Period[]> {
  const [money, traffic, lost] = await Promise.all([
    moneyByPeriod(sql, report.range, report.interval),
    trafficByPeriod(sql, report.range, report.interval),
    writeOffs(sql, report.range, report.interval),
  ]);
  const periods = new Map<string, Period>();
  const at = (period: string): Period =>
    periods.get(period) ?? {
      period,
      revenueNanos: 0n,
      costNanos: 0n,
      writtenOffNanos: 0n,
      requests: 0,
      errors: 0,
      activeCustomers: 0,
    };
  for (const m of money)
    periods.set(m.period, { ...at(m.period), revenueNanos: m.revenueNanos, costNanos: m.costNanos });
  for (const w of lost)
    periods.set(w.period, { ...at(w.period), writtenOffNanos: at(w.period).writtenOffNanos + w.writtenOffNanos });
  for (const r of traffic)
    periods.set(r.period, {
      ...at(r.period),
      requests: r.requests,
      errors: r.errors,
      activeCustomers: r.activeCustomers,
    });
  return [...periods.values()].sort((a, b) => a.period.localeCompare(b.period));
}

const ReportRef = builder.objectRef<Report>('Report').implement({
  fields: (t) => ({
    from: t.field({ type: 'DateTime', resolve: (r) => r.range.from }),
    to: t.field({ type: 'DateTime', resolve: (r) => r.range.to }),
    interval: t.field({ type: IntervalEnum, resolve: (r) => r.interval }),
    series: t.field({ type: [PeriodRef], resolve: (r, _args, ctx) => series(r, ctx.sql) }),
    totals: t.field({
      type: TotalsRef,
      resolve: async (r, _args, ctx) => {
        const [periods, customers] = await Promise.all([series(r, ctx.sql), activeCustomers(ctx.sql, r.range)]);
        const sum = <K extends 'revenueNanos' | 'costNanos' | 'writtenOffNanos'>(key: K) =>
          periods.reduce((total, p) => total + p[key], 0n);
        const count = (key: 'requests' | 'errors') => periods.reduce((total, p) => total + p[key], 0);
        return {
          revenueNanos: sum('revenueNanos'),
          costNanos: sum('costNanos'),
          writtenOffNanos: sum('writtenOffNanos'),
          requests: count('requests'),
          errors: count('errors'),
          activeCustomers: customers,
        };
      },
    }),
    writeOffs: t.field({
      type: [WriteOffRef],
      description:
        'What the tenant wrote off, per period and model (charges above a hold that a wallet could not pay).',
      resolve: (r, _args, ctx) => writeOffs(ctx.sql, r.range, r.interval),
    }),
    popularModels: t.field({
      type: [ModelShareRef],
      args: { limit: t.arg.int({ required: false, defaultValue: 10 }) },
      resolve: (r, args, ctx) => popularModels(ctx.sql, r.range, Math.min(Math.max(args.limit ?? 10, 1), MAX_ROWS)),
    }),
    errorRates: t.field({
      type: [ErrorRateRef],
      args: {
        by: t.arg({ type: ErrorGroupingEnum, required: false, defaultValue: 'model' }),
        limit: t.arg.int({ required: false, defaultValue: 10 }),
      },
      resolve: (r, args, ctx) =>
        errorRates(ctx.sql, r.range, args.by ?? 'model', Math.min(Math.max(args.limit ?? 10, 1), MAX_ROWS)),
    }),
  }),
});

const DAY_MS = 24 * 3600_000;
const DEFAULT_RANGE_DAYS = 30;
const MAX_RANGE_DAYS: Record<ReportInterval, number> = { day: 400, month: 3700 };

builder.queryField('report', (t) =>
  t.withAuth({ admin: true }).field({
    type: ReportRef,
    description: `The tenant's revenue, cost, profit, traffic and errors; the last ${DEFAULT_RANGE_DAYS} days by default.`,
    args: {
      from: t.arg({ type: 'DateTime', required: false }),
      to: t.arg({ type: 'DateTime', required: false }),
      interval: t.arg({ type: IntervalEnum, required: false, defaultValue: 'day' }),
    },
    resolve: (_root, args, ctx) => {
      const interval = args.interval ?? 'day';
      const to = args.to ?? new Date();
      const from = args.from ?? new Date(to.getTime() - DEFAULT_RANGE_DAYS * DAY_MS);
      if (from >= to) throw invalidInput('to', '`to` must be after `from`.');
      if (to.getTime() - from.getTime() > MAX_RANGE_DAYS[interval] * DAY_MS)
        throw invalidInput('from', `A report by ${interval} covers at most ${MAX_RANGE_DAYS[interval]} days.`);
      return { range: { tenantId: ctx.tenant.id, from, to }, interval };
    },
  }),
);
