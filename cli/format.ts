import { formatUsd } from '../core/money.ts';

/** Money in JSON output: exact nano-dollars as a decimal string, and the same amount as USD text. */
type Money = { nanos: string; usd: string };

export function money(nanos: bigint): Money {
  return { nanos: nanos.toString(), usd: formatUsd(nanos) };
}

/** Basis points as the percentage an operator typed: 2000 → "20", 1250 → "12.5". */
export function formatPercent(bps: number): string {
  const whole = Math.trunc(bps / 100);
  const fraction = String(bps % 100)
    .padStart(2, '0')
    .replace(/0+$/, '');
  return fraction === '' ? String(whole) : `${whole}.${fraction}`;
}

/** One JSON document; bigints (ids, nano-dollars) become decimal strings because JSON numbers would lose digits. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_, item: unknown) => (typeof item === 'bigint' ? item.toString() : item), 2);
}

export function formatDate(date: Date | null): string {
  return date === null ? '-' : date.toISOString();
}

/** `label: value` lines with the values aligned. */
export function fields(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${`${label}:`.padEnd(width + 2)}${value}`).join('\n');
}

/** A plain-text table with a header row; an empty list says so instead of printing a lone header. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], empty: string): string {
  if (rows.length === 0) return empty;
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
