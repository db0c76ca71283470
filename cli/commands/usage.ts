import { formatUsd } from '../../core/money.ts';
import { exportUsage, type UsageRecord } from '../../db/queries/usage.ts';
import { usageCsv } from '../../schema/usage-csv.ts';
import { optionalString, requiredString } from '../args.ts';
import type { Command } from '../command.ts';
import { UsageError } from '../errors.ts';
import { money, table, toJson } from '../format.ts';
import { ACCOUNT_OPTIONS, accountOption } from '../resolve.ts';
import { dateOption, oneOf } from '../values.ts';

/**
 * `usage`: an account's request log over a time range, one row per request, as a table, CSV (the
 * same columns as the portal's export) or JSON. A range with more than MAX_USAGE_ROWS requests is
 * refused rather than cut short, so a total never silently misses rows.
 */

const COMMAND = 'usage';
const MAX_USAGE_ROWS = 50_000;
const FORMATS = ['table', 'csv', 'json'] as const;

function recordJson(record: UsageRecord) {
  return {
    requestId: record.id,
    createdAt: record.createdAt,
    apiKeyId: record.apiKeyId,
    route: record.route,
    model: record.model,
    stream: record.stream,
    statusCode: record.statusCode,
    outcome: record.outcome,
    errorCode: record.errorCode,
    promptTokens: record.promptTokens,
    completionTokens: record.completionTokens,
    charge: money(record.chargeNanos),
    writtenOff: money(record.writtenOffNanos),
    estimated: record.estimated,
    latencyMs: record.latencyMs,
  };
}

function usageTable(records: readonly UsageRecord[], email: string): string {
  const rows = records.map((r) => [
    r.createdAt.toISOString(),
    r.id,
    r.model ?? '-',
    String(r.statusCode),
    String(r.promptTokens),
    String(r.completionTokens),
    formatUsd(r.chargeNanos),
    formatUsd(r.writtenOffNanos),
  ]);
  const total = records.reduce((sum, r) => sum + r.chargeNanos, 0n);
  const writtenOff = records.reduce((sum, r) => sum + r.writtenOffNanos, 0n);
  const body = table(
    ['TIME', 'REQUEST ID', 'MODEL', 'STATUS', 'PROMPT', 'COMPLETION', 'CHARGE USD', 'WRITTEN OFF USD'],
    rows,
    `no requests by ${email} in this range`,
  );
  const lost = writtenOff === 0n ? '' : `, of which $${formatUsd(writtenOff)} written off`;
  return records.length === 0 ? body : `${body}\n${records.length} request(s), charged $${formatUsd(total)}${lost}`;
}

export const usageCommand: Command = {
  name: COMMAND,
  summary: "an account's requests in a time range (newest first): time, request id, model, tokens, charge",
  options: {
    ...ACCOUNT_OPTIONS,
    since: {
      type: 'string',
      value: 'DATE',
      help: 'from this date or time, inclusive (required; a date is midnight UTC)',
    },
    until: { type: 'string', value: 'DATE', help: 'up to this date or time, exclusive (default: now)' },
    format: {
      type: 'string',
      value: FORMATS.join('|'),
      help: 'output format (default: table; --json is the same as --format json)',
    },
  },
  prepare: (args) => {
    const accountRef = requiredString(args, 'account');
    const tenantRef = optionalString(args, 'tenant');
    const from = dateOption(COMMAND, 'since', requiredString(args, 'since'));
    const untilText = optionalString(args, 'until');
    const to = untilText === undefined ? null : dateOption(COMMAND, 'until', untilText);
    if (to !== null && to <= from) throw new UsageError(`${COMMAND}: --until must be after --since`);
    const formatText = optionalString(args, 'format');
    const format = formatText === undefined ? 'table' : oneOf(COMMAND, 'format', formatText, FORMATS);
    return async (session) => {
      const { account } = await accountOption(session, COMMAND, accountRef, tenantRef);
      const filter = {
        tenantId: account.tenantId,
        accountId: account.id,
        apiKeyId: null,
        model: null,
        outcome: null,
        statusCode: null,
        from,
        to,
      };
      const records = await exportUsage(session.db.sql, filter, MAX_USAGE_ROWS + 1);
      if (records.length > MAX_USAGE_ROWS)
        throw new UsageError(
          `${COMMAND}: more than ${MAX_USAGE_ROWS} requests in this range; narrow --since and --until`,
        );
      const json = {
        accountId: account.id,
        email: account.email,
        since: from,
        until: to,
        requests: records.map(recordJson),
      };
      if (format === 'json') return { json, text: toJson(json) };
      // console.log ends the output with a newline, so the CSV's own last line break is dropped here.
      return {
        json,
        text: format === 'csv' ? usageCsv(records).replace(/\r\n$/, '') : usageTable(records, account.email),
      };
    };
  },
};
