import { formatUsd } from '../../core/money.ts';
import {
  moneyByPeriod,
  writeOffs,
  type MoneyBucket,
  type ReportInterval,
  type WriteOffBucket,
} from '../../db/queries/reports.ts';
import { optionalString, requiredString } from '../args.ts';
import type { Command } from '../command.ts';
import { UsageError } from '../errors.ts';
import { money, table } from '../format.ts';
import { tenantOption } from '../resolve.ts';
import { dateOption, oneOf } from '../values.ts';

/**
 * `report`: a tenant's margin report over a time range: per day (or month) what it charged,
 * what it paid, what it wrote off (charges above a hold that a wallet could not pay, see
 * docs/architecture.md's settlement policy) and the profit left; then what was written off per model.
 */

const COMMAND = 'report';
const INTERVALS = ['day', 'month'] as const satisfies readonly ReportInterval[];

type Row = { period: string; revenueNanos: bigint; costNanos: bigint; writtenOffNanos: bigint };

/** Profit over revenue as a percentage with two decimals, toward zero; '-' without revenue. */
function margin(row: Row): string {
  if (row.revenueNanos === 0n) return '-';
  const bps = ((row.revenueNanos - row.costNanos - row.writtenOffNanos) * 10_000n) / row.revenueNanos;
  return `${(Number(bps) / 100).toFixed(2)}%`;
}

/** One row per period with revenue, cost or write-offs, in order. */
function marginRows(periods: readonly MoneyBucket[], lost: readonly WriteOffBucket[]): Row[] {
  const rows = new Map<string, Row>();
  const at = (period: string) => rows.get(period) ?? { period, revenueNanos: 0n, costNanos: 0n, writtenOffNanos: 0n };
  for (const p of periods)
    rows.set(p.period, { ...at(p.period), revenueNanos: p.revenueNanos, costNanos: p.costNanos });
  for (const w of lost)
    rows.set(w.period, { ...at(w.period), writtenOffNanos: at(w.period).writtenOffNanos + w.writtenOffNanos });
  return [...rows.values()].sort((a, b) => a.period.localeCompare(b.period));
}

const rowJson = (row: Row) => ({
  period: row.period,
  revenue: money(row.revenueNanos),
  cost: money(row.costNanos),
  writtenOff: money(row.writtenOffNanos),
  profit: money(row.revenueNanos - row.costNanos - row.writtenOffNanos),
});

export const reportCommand: Command = {
  name: COMMAND,
  summary: "a tenant's margin report: revenue, cost, written off and profit per day or month, write-offs per model",
  options: {
    tenant: { type: 'string', value: 'SLUG|ID', help: 'tenant (default: root)' },
    since: { type: 'string', value: 'DATE', help: 'from this date or time, inclusive (required)' },
    until: { type: 'string', value: 'DATE', help: 'up to this date or time, exclusive (default: now)' },
    interval: { type: 'string', value: INTERVALS.join('|'), help: 'one row per day or per month (default: day)' },
  },
  prepare: (args) => {
    const tenantRef = optionalString(args, 'tenant');
    const from = dateOption(COMMAND, 'since', requiredString(args, 'since'));
    const untilText = optionalString(args, 'until');
    const to = untilText === undefined ? new Date() : dateOption(COMMAND, 'until', untilText);
    if (to <= from) throw new UsageError(`${COMMAND}: --until must be after --since`);
    const intervalText = optionalString(args, 'interval');
    const interval = intervalText === undefined ? 'day' : oneOf(COMMAND, 'interval', intervalText, INTERVALS);
    return async (session) => {
      const tenant = await tenantOption(session, COMMAND, tenantRef);
      const range = { tenantId: tenant.id, from, to };
      const [periods, lost] = await Promise.all([
        moneyByPeriod(session.db.sql, range, interval),
        writeOffs(session.db.sql, range, interval),
      ]);
      const sorted = marginRows(periods, lost);
      const byPeriod = table(
        ['PERIOD', 'REVENUE USD', 'COST USD', 'WRITTEN OFF USD', 'PROFIT USD', 'MARGIN'],
        sorted.map((r) => [
          r.period,
          formatUsd(r.revenueNanos),
          formatUsd(r.costNanos),
          formatUsd(r.writtenOffNanos),
          formatUsd(r.revenueNanos - r.costNanos - r.writtenOffNanos),
          margin(r),
        ]),
        `no revenue for ${tenant.slug} in this range`,
      );
      const byModel = table(
        ['PERIOD', 'MODEL', 'REQUESTS', 'WRITTEN OFF USD'],
        lost.map((w) => [w.period, w.model || '-', String(w.requests), formatUsd(w.writtenOffNanos)]),
        'nothing written off',
      );
      const json = {
        tenantSlug: tenant.slug,
        since: from,
        until: to,
        interval,
        periods: sorted.map(rowJson),
        writeOffs: lost.map((w) => ({
          period: w.period,
          model: w.model,
          requests: w.requests,
          writtenOff: money(w.writtenOffNanos),
        })),
      };
      return { json, text: `${byPeriod}\n\n${byModel}` };
    };
  },
};
