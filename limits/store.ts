/**
 * Rate-limit counters behind one interface, so the in-process store (the zero-configuration
 * default) and the Redis store (several replicas) are interchangeable. Windows are sliding logs:
 * at most `limit` units in any window of `windowMs`, exactly, with no burst at window edges.
 *
 * Spending windows are UTC calendar days and months, not rolling periods: a spend counter is one
 * number per period (a rolling 24 h would need a log of every charge), and "resets at 00:00 UTC"
 * is what a customer can read on an invoice. A request is admitted while the period's recorded
 * spend is below the limit; its real charge is added when it settles, so requests in flight when
 * the limit is reached may take the spend past it by their own charges.
 */

/** `record: false` only checks that `cost` more would fit (token limits, whose real cost comes later). */
export type WindowCheck = { key: string; limit: number; windowMs: number; cost: number; record?: boolean };
export type WindowResult = { allowed: boolean; remaining: number; retryAfterMs: number };

export type SpendPeriod = 'day' | 'month';
export type SpendWindow = { key: string; period: SpendPeriod };
export type SpendCheck = SpendWindow & { limitNanos: bigint };
/** `retryAfterMs` is the time until the period rolls over, also when allowed. */
export type SpendResult = { allowed: boolean; spentNanos: bigint; retryAfterMs: number };
export type Admission = { windows: WindowResult[]; spends: SpendResult[] };

export type LimitStore = {
  /**
   * Checks every window and spending period; records the windows' costs only if everything
   * allows the request. Spending is never recorded here: its amount is known at settlement.
   */
  consume(checks: readonly WindowCheck[], spends?: readonly SpendCheck[]): Promise<Admission>;
  /** Adds usage known only afterwards (tokens) without refusing anything. */
  record(key: string, windowMs: number, cost: number): Promise<void>;
  /** Adds a settled charge to the current period of each spending window. */
  recordSpend(windows: readonly SpendWindow[], amountNanos: bigint): Promise<void>;
  /**
   * Raises the spend of the period numbered `index` (`spendPeriodAt`) to at least `amountNanos`,
   * if that period is still the current one: a counter that started late (a limit set during the
   * day, a restart) is brought up to what the usage log says was spent, and one that counted all
   * along is left as it is.
   */
  seedSpend(window: SpendWindow, index: number, amountNanos: bigint): Promise<void>;
  /** The store's clock in ms, which decides the spending periods. */
  now(): number;
  /**
   * Takes one of `limit` slots of `key` for `holder` (a request id), unless all are taken. Taking
   * a slot the holder already has changes nothing; releasing one it does not have is a no-op.
   */
  acquire(key: string, limit: number, holder: string): Promise<boolean>;
  release(key: string, holder: string): Promise<void>;
};

const DAY_MS = 86_400_000;

/** The UTC calendar period containing `t`: a number naming it, the time it starts and the time it ends. */
export function spendPeriodAt(period: SpendPeriod, t: number): { index: number; startsAt: number; endsAt: number } {
  if (period === 'day') {
    const index = Math.floor(t / DAY_MS);
    return { index, startsAt: index * DAY_MS, endsAt: (index + 1) * DAY_MS };
  }
  const date = new Date(t);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  return { index: year * 12 + month, startsAt: Date.UTC(year, month, 1), endsAt: Date.UTC(year, month + 1, 1) };
}

type Log = { times: number[]; costs: number[]; total: number };

/** Entries older than the longest window are dropped as logs are touched; idle logs are swept. */
const SWEEP_INTERVAL_MS = 60_000;
const MAX_WINDOW_MS = 3_600_000;

function prune(log: Log, now: number, windowMs: number): void {
  let drop = 0;
  while (drop < log.times.length && (log.times[drop] as number) <= now - windowMs) {
    log.total -= log.costs[drop] as number;
    drop++;
  }
  if (drop > 0) {
    log.times.splice(0, drop);
    log.costs.splice(0, drop);
  }
}

type Spent = { index: number; spentNanos: bigint };

function checkWindows(logFor: (key: string) => Log, checks: readonly WindowCheck[], t: number): WindowResult[] {
  return checks.map((check) => {
    const log = logFor(check.key);
    prune(log, t, check.windowMs);
    const allowed = log.total + check.cost <= check.limit;
    const oldest = log.times[0];
    const retryAfterMs = allowed || oldest === undefined ? 0 : Math.max(1, oldest + check.windowMs - t);
    return { allowed, remaining: Math.max(0, check.limit - log.total - (allowed ? check.cost : 0)), retryAfterMs };
  });
}

function checkSpends(spent: Map<string, Spent>, spends: readonly SpendCheck[], t: number): SpendResult[] {
  return spends.map(({ key, period, limitNanos }) => {
    const { index, endsAt } = spendPeriodAt(period, t);
    const current = spent.get(`${period}:${key}`);
    const spentNanos = current?.index === index ? current.spentNanos : 0n;
    return { allowed: spentNanos < limitNanos, spentNanos, retryAfterMs: endsAt - t };
  });
}

export function createMemoryLimitStore(now: () => number = Date.now): LimitStore & { stop(): void } {
  const logs = new Map<string, Log>();
  const slots = new Map<string, Set<string>>();
  const spent = new Map<string, Spent>();
  const logFor = (key: string) => {
    const existing = logs.get(key);
    if (existing) return existing;
    const log: Log = { times: [], costs: [], total: 0 };
    logs.set(key, log);
    return log;
  };
  const sweeper = setInterval(() => {
    const t = now();
    for (const [key, log] of logs) {
      prune(log, t, MAX_WINDOW_MS);
      if (log.times.length === 0) logs.delete(key);
    }
    for (const [key, entry] of spent) {
      const period = key.startsWith('day:') ? 'day' : 'month';
      if (entry.index !== spendPeriodAt(period, t).index) spent.delete(key);
    }
  }, SWEEP_INTERVAL_MS);
  sweeper.unref?.();
  return {
    async consume(checks, spends = []) {
      const t = now();
      const windows = checkWindows(logFor, checks, t);
      const spendResults = checkSpends(spent, spends, t);
      if (windows.every((r) => r.allowed) && spendResults.every((r) => r.allowed)) {
        for (const check of checks) {
          if (check.record === false) continue;
          const log = logFor(check.key);
          log.times.push(t);
          log.costs.push(check.cost);
          log.total += check.cost;
        }
      }
      return { windows, spends: spendResults };
    },
    async record(key, _windowMs, cost) {
      const log = logFor(key);
      log.times.push(now());
      log.costs.push(cost);
      log.total += cost;
    },
    async recordSpend(windows, amountNanos) {
      const t = now();
      for (const { key, period } of windows) {
        const { index } = spendPeriodAt(period, t);
        const current = spent.get(`${period}:${key}`);
        spent.set(`${period}:${key}`, {
          index,
          spentNanos: (current?.index === index ? current.spentNanos : 0n) + amountNanos,
        });
      }
    },
    async seedSpend({ key, period }, index, amountNanos) {
      if (spendPeriodAt(period, now()).index !== index) return;
      const current = spent.get(`${period}:${key}`);
      const spentNanos = current?.index === index ? current.spentNanos : 0n;
      if (spentNanos < amountNanos) spent.set(`${period}:${key}`, { index, spentNanos: amountNanos });
    },
    now,
    async acquire(key, limit, holder) {
      const held = slots.get(key) ?? new Set<string>();
      if (held.has(holder)) return true;
      if (held.size >= limit) return false;
      held.add(holder);
      slots.set(key, held);
      return true;
    },
    async release(key, holder) {
      const held = slots.get(key);
      if (!held) return;
      held.delete(holder);
      if (held.size === 0) slots.delete(key);
    },
    stop: () => clearInterval(sweeper),
  };
}
