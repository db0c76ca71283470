import { formatUsd } from '../../core/money.ts';
import { createLogger } from '../../app/log.ts';
import { reconcile, type Difference } from '../../ledger/reconcile.ts';
import { createCatalog } from '../../upstream/catalog.ts';
import { createChannels } from '../../upstream/channels.ts';
import { flag, optionalString, requiredString, type ParsedArgs } from '../args.ts';
import type { Command } from '../command.ts';
import { EXIT_FAILURE, EXIT_OK, UsageError } from '../errors.ts';
import { money, table } from '../format.ts';

const RELATIVE = /^(\d+)([mhd])$/;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** An ISO date or time ("2025-01-31", "2025-01-31T12:00:00Z"), or a time ago ("90m", "24h", "7d"). */
function parseTime(args: ParsedArgs, name: string, text: string, now: number): Date {
  const relative = RELATIVE.exec(text);
  // A time ago past the first representable date (about 270,000 years) is NaN, refused like bad text.
  const time = relative
    ? now - Number(relative[1]) * (UNIT_MS[relative[2] ?? 'h'] ?? 0)
    : /^\d{4}-\d{2}-\d{2}/.test(text)
      ? Date.parse(text)
      : Number.NaN;
  if (Number.isNaN(new Date(time).getTime()))
    throw new UsageError(`${args.command}: --${name} must be an ISO date or time, or a time ago like 24h or 7d`);
  return new Date(time);
}

const signedUsd = (nanos: bigint) => `${nanos > 0n ? '+' : ''}${formatUsd(nanos)}`;
const STATUS_TEXT: Record<Difference['status'], string> = {
  unfixed: 'not fixed',
  fixed: 'fixed now',
  fixed_earlier: 'fixed earlier',
  implausible: 'implausible: not charged, check with the upstream',
};

function differenceJson(d: Difference) {
  return {
    requestId: d.requestId,
    generationId: d.generationId,
    createdAt: d.createdAt.toISOString(),
    recordedCost: money(d.recordedCostNanos),
    upstreamCost: money(d.upstreamCostNanos),
    difference: money(d.differenceNanos),
    recordedCharge: money(d.recordedChargeNanos),
    correctedCharge: money(d.correctedChargeNanos),
    status: d.status,
  };
}

export const reconcileCommand: Command = {
  name: 'reconcile',
  summary:
    "compare recorded upstream costs with the upstream's generation records; --fix corrects them by ledger adjustments",
  options: {
    since: { type: 'string', value: 'TIME', help: 'start of the window (ISO date/time, or a time ago: 90m, 24h, 7d)' },
    until: { type: 'string', value: 'TIME', help: 'end of the window, exclusive (default: now)' },
    fix: {
      type: 'boolean',
      help: 'record an adjustment for each difference (once per request; re-running changes nothing)',
    },
  },
  prepare: (args) => {
    const now = Date.now();
    const since = parseTime(args, 'since', requiredString(args, 'since'), now);
    const untilText = optionalString(args, 'until');
    const until = untilText === undefined ? new Date(now) : parseTime(args, 'until', untilText, now);
    if (until <= since) throw new UsageError(`${args.command}: --until must be after --since`);
    const fix = flag(args, 'fix');
    return async (session) => {
      const log = createLogger('error', (line) => process.stderr.write(`${line}\n`));
      const catalog = await createCatalog({
        sql: session.db.sql,
        upstreamBaseUrl: session.config.upstreamBaseUrl,
        upstreamApiKey: session.config.upstreamApiKey,
        log,
        background: false,
      });
      const channels = await createChannels({
        sql: session.db.sql,
        config: session.config,
        catalog,
        log,
        background: false,
      });
      const report = await reconcile({
        sql: session.db.sql,
        channels,
        since,
        until,
        fix,
        progress: session.note,
      });
      const unfixed = report.differences.filter((d) => d.status === 'unfixed').length;
      const implausible = report.differences.filter((d) => d.status === 'implausible').length;
      const total = report.differences.reduce((sum, d) => sum + d.differenceNanos, 0n);
      const rows = report.differences.map((d) => [
        d.requestId,
        formatUsd(d.recordedCostNanos),
        formatUsd(d.upstreamCostNanos),
        signedUsd(d.differenceNanos),
        signedUsd(d.correctedChargeNanos - d.recordedChargeNanos),
        STATUS_TEXT[d.status],
      ]);
      const summary =
        `reconcile: ${report.checked} request(s) from ${since.toISOString()} to ${until.toISOString()}, ` +
        `${report.differences.length} difference(s) totalling ${signedUsd(total)} USD of upstream cost, ${unfixed} not fixed, ${implausible} implausible, ${report.missingCount} without an upstream record`;
      const text = [
        table(['request', 'recorded USD', 'upstream USD', 'difference', 'customer', 'status'], rows, 'no differences'),
        summary,
      ].join('\n');
      const json = {
        since: since.toISOString(),
        until: until.toISOString(),
        checked: report.checked,
        differences: report.differences.map(differenceJson),
        total: money(total),
        unfixed,
        implausible,
        missingCount: report.missingCount,
        missing: report.missing,
      };
      return { json, text, exitCode: unfixed + implausible > 0 ? EXIT_FAILURE : EXIT_OK };
    };
  },
};
