import type { Money } from './types';

/**
 * Display formatting. Money arrives as exact nano-dollar integers; it is shown rounded for
 * reading (cents for amounts of a dollar or more, six significant decimals below) while the exact
 * value stays available in a title for whoever hovers it. No floating point touches an amount.
 */

const NANOS_PER_USD = 1_000_000_000n;

function nanosOf(value: Money | string | bigint): bigint {
  if (typeof value === 'bigint') return value;
  return BigInt(typeof value === 'string' ? value : value.nanos);
}

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Rounds half away from zero to `decimals` places of a dollar. */
function roundTo(nanos: bigint, decimals: number): { whole: bigint; fraction: string } {
  const unit = 10n ** BigInt(9 - decimals);
  const rounded = ((nanos + unit / 2n) / unit) * unit;
  const whole = rounded / NANOS_PER_USD;
  const fraction = (rounded % NANOS_PER_USD).toString().padStart(9, '0').slice(0, decimals);
  return { whole, fraction };
}

/** "$1,234.56", "$0.045", "$0.000123", "-$3.00": cents from a dollar up, three significant digits below. */
export function usd(value: Money | string | bigint): string {
  const nanos = nanosOf(value);
  const sign = nanos < 0n ? '-' : '';
  const abs = nanos < 0n ? -nanos : nanos;
  if (abs === 0n || abs >= NANOS_PER_USD) {
    const { whole, fraction } = roundTo(abs, 2);
    return `${sign}$${groupThousands(whole.toString())}.${fraction}`;
  }
  const digits = abs.toString().padStart(9, '0');
  const decimals = Math.min(9, Math.max(2, digits.search(/[1-9]/) + 3));
  const { whole, fraction } = roundTo(abs, decimals);
  const trimmed = fraction.replace(/0+$/, '').padEnd(2, '0');
  return `${sign}$${whole.toString()}.${trimmed}`;
}

/** The exact amount, for titles: "$0.000000375". */
export function exactUsd(value: Money): string {
  return value.usd.startsWith('-') ? `-$${value.usd.slice(1)}` : `$${value.usd}`;
}

/** A count with thousands separators. */
export function count(value: number | string | bigint): string {
  return groupThousands(String(value));
}

/** Basis points as a percentage: 2000 → "20%", 1250 → "12.5%". */
export function percent(bps: number | null | undefined): string {
  if (bps === null || bps === undefined) return '—';
  const whole = Math.trunc(bps / 100);
  const rest = Math.abs(bps % 100);
  return `${bps < 0 && whole === 0 ? '-' : ''}${whole}${rest ? `.${String(rest).padStart(2, '0').replace(/0$/, '')}` : ''}%`;
}

const DATE_TIME = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });
const DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
const DAY = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });

/** Timestamps are shown in UTC, like the API's day buckets, so a day means the same everywhere. */
export function dateTime(iso: string | null | undefined): string {
  return iso ? `${DATE_TIME.format(new Date(iso))} UTC` : '—';
}

export function date(iso: string | null | undefined): string {
  return iso ? DATE.format(new Date(iso)) : '—';
}

export function shortDay(iso: string): string {
  return DAY.format(new Date(iso));
}

/** "3 minutes ago"-style text for last-used columns. */
export function ago(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return date(iso);
}
