import type { Money } from './types';

/**
 * Display formatting. Money arrives as exact nano-dollar integers and is shown with the precision
 * it has: digits are cut, never rounded, so a balance is never shown higher than it is and a
 * spend of a fraction of a cent visibly moves it. The exact value stays available in a title for
 * whoever hovers it. No floating point touches an amount.
 */

const NANOS_PER_USD = 1_000_000_000n;
const NANO_DECIMALS = 9;
/** Decimals always shown: cents from a dollar up, four places below (so $0.0042, not $0.00). */
const MIN_DECIMALS_FROM_DOLLAR = 2;
const MIN_DECIMALS_BELOW_DOLLAR = 4;
/** Decimals shown at most, to the micro-dollar: enough for one cheap request to move a balance. */
const MAX_DECIMALS = 6;
/** Smaller amounts keep this many significant digits (down to the nano-dollar): $0.000000375. */
const SIGNIFICANT_DIGITS = 3;

function nanosOf(value: Money | string | bigint): bigint {
  if (typeof value === 'bigint') return value;
  return BigInt(typeof value === 'string' ? value : value.nanos);
}

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * "$1,234.56", "$4.999239", "$0.5000", "$0.000761", "-$3.00". The magnitude is truncated (never
 * rounded up) to at most six decimals, or three significant digits for smaller amounts; trailing
 * zeros go down to two decimals from a dollar up and four below.
 */
export function usd(value: Money | string | bigint): string {
  const nanos = nanosOf(value);
  const sign = nanos < 0n ? '-' : '';
  const abs = nanos < 0n ? -nanos : nanos;
  const whole = abs / NANOS_PER_USD;
  const digits = (abs % NANOS_PER_USD).toString().padStart(NANO_DECIMALS, '0');
  const firstSignificant = digits.search(/[1-9]/);
  const shown = whole > 0n ? MAX_DECIMALS : Math.min(NANO_DECIMALS, Math.max(MAX_DECIMALS, firstSignificant + SIGNIFICANT_DIGITS));
  const least = abs === 0n || whole > 0n ? MIN_DECIMALS_FROM_DOLLAR : MIN_DECIMALS_BELOW_DOLLAR;
  const fraction = digits.slice(0, shown).replace(/0+$/, '').padEnd(least, '0');
  return `${sign}$${groupThousands(whole.toString())}.${fraction}`;
}

/** The exact amount, for titles, as the API writes it: "$0.000000375", "$5.00". */
export function exactUsd(value: Money | string | bigint): string {
  const nanos = nanosOf(value);
  const abs = nanos < 0n ? -nanos : nanos;
  const fraction = (abs % NANOS_PER_USD).toString().padStart(NANO_DECIMALS, '0').replace(/0+$/, '').padEnd(MIN_DECIMALS_FROM_DOLLAR, '0');
  return `${nanos < 0n ? '-' : ''}$${groupThousands((abs / NANOS_PER_USD).toString())}.${fraction}`;
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
