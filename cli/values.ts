import { parseUsd } from '../core/money.ts';
import { percentToBps } from '../app/config.ts';
import { UsageError } from './errors.ts';

/** The bounds the database enforces, checked here first so the operator gets a clear message. */
const MAX_MARKUP_BPS = 1_000_000;
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;
const EMAIL = /^[^@\s]+@[^@\s]+$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const MAX_NAME_LENGTH = 200;

/** A positive USD amount, exact to the nano-dollar: more than nine decimals is refused, never rounded. */
export function usdAmount(command: string, option: string, text: string, allowZero = false): bigint {
  const nanos = parseUsd(text);
  if (nanos === undefined)
    throw new UsageError(
      `${command}: --${option} must be a USD amount like 10.00 with at most 9 decimals, got "${text}"`,
    );
  if (nanos < 0n || (!allowZero && nanos === 0n))
    throw new UsageError(
      `${command}: --${option} must be ${allowZero ? 'zero or more' : 'more than zero'}, got "${text}"`,
    );
  return nanos;
}

export function markupPercent(command: string, option: string, text: string): number {
  const bps = percentToBps(text);
  if (bps === undefined || bps > MAX_MARKUP_BPS) {
    throw new UsageError(
      `${command}: --${option} must be a percentage like 20 or 12.5 (0 to ${MAX_MARKUP_BPS / 100}, at most 2 decimals), got "${text}"`,
    );
  }
  return bps;
}

export function integer(command: string, option: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || value < min || value > max)
    throw new UsageError(`${command}: --${option} must be a whole number from ${min} to ${max}, got "${text}"`);
  return value;
}

export function slug(command: string, text: string): string {
  if (!SLUG.test(text))
    throw new UsageError(
      `${command}: --slug must be lowercase letters, digits and dashes (at most 63, not starting with a dash), got "${text}"`,
    );
  return text;
}

export function displayName(command: string, option: string, text: string): string {
  if (text.length > MAX_NAME_LENGTH)
    throw new UsageError(`${command}: --${option} must be at most ${MAX_NAME_LENGTH} characters`);
  return text;
}

export function email(command: string, text: string): string {
  if (!EMAIL.test(text)) throw new UsageError(`${command}: --email must look like name@example.com, got "${text}"`);
  return text;
}

export function domain(command: string, text: string): string {
  const lower = text.toLowerCase();
  if (!DOMAIN.test(lower))
    throw new UsageError(`${command}: --domain must be a host name like ai.example.com, got "${text}"`);
  return lower;
}

export function oneOf<T extends string>(command: string, option: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text))
    throw new UsageError(`${command}: --${option} must be one of ${allowed.join(', ')}, got "${text}"`);
  return text as T;
}

/** A date (midnight UTC) or a date and time with its zone: 2024-05-01, 2024-05-01T12:00:00Z. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

export function dateOption(command: string, option: string, text: string): Date {
  const date = new Date(/T/.test(text) ? text : `${text}T00:00:00Z`);
  if (!DATE_TIME.test(text) || Number.isNaN(date.getTime())) {
    throw new UsageError(
      `${command}: --${option} must be a date like 2024-05-01 or 2024-05-01T12:00:00Z, got "${text}"`,
    );
  }
  return date;
}
