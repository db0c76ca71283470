/** UTC day arithmetic for usage ranges and charts (the API's day buckets are UTC days). */

const DAY_MS = 24 * 3600_000;

export function startOfUtcDay(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

export function startOfUtcMonth(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1));
}

/** The last `n` UTC days, oldest first, as YYYY-MM-DD. */
export function lastDays(n: number, now: Date = new Date()): string[] {
  const today = startOfUtcDay(now).getTime();
  return Array.from({ length: n }, (_, i) => new Date(today - (n - 1 - i) * DAY_MS).toISOString().slice(0, 10));
}

export function daysAgo(n: number, now: Date = new Date()): Date {
  return new Date(startOfUtcDay(now).getTime() - n * DAY_MS);
}
