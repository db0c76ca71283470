import { formatUsd } from '../core/money.ts';
import type { UsageRecord } from '../db/queries/usage.ts';

/**
 * CSV export of the usage log (RFC 4180). Text that a spreadsheet would run as a formula (a model
 * id starting with "=", say) is prefixed with an apostrophe, as OWASP advises for CSV injection.
 */

const HEADER = [
  'request_id',
  'created_at',
  'account_id',
  'api_key_id',
  'route',
  'model',
  'status_code',
  'outcome',
  'error_code',
  'prompt_tokens',
  'completion_tokens',
  'charge_usd',
  'charge_nanos',
  'estimated',
  'latency_ms',
];

function text(value: string | null): string {
  if (value === null) return '';
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function row(record: UsageRecord): string {
  return [
    text(record.id),
    record.createdAt.toISOString(),
    record.accountId,
    record.apiKeyId ?? '',
    text(record.route),
    text(record.model),
    String(record.statusCode),
    record.outcome,
    text(record.errorCode),
    String(record.promptTokens),
    String(record.completionTokens),
    formatUsd(record.chargeNanos),
    record.chargeNanos.toString(),
    String(record.estimated),
    record.latencyMs === null ? '' : String(record.latencyMs),
  ].join(',');
}

export function usageCsv(records: readonly UsageRecord[]): string {
  return `${[HEADER.join(','), ...records.map(row)].join('\r\n')}\r\n`;
}
