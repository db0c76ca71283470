/**
 * Rate-limit counters behind one interface, so the in-process store (the zero-configuration
 * default) and the Redis store (several replicas) are interchangeable. Windows are sliding logs:
 * at most `limit` units in any window of `windowMs`, exactly, with no burst at window edges.
 */

/** `record: false` only checks that `cost` more would fit (token limits, whose real cost comes later). */
export type WindowCheck = { key: string; limit: number; windowMs: number; cost: number; record?: boolean };
export type WindowResult = { allowed: boolean; remaining: number; retryAfterMs: number };

export type LimitStore = {
  /** Checks every window and records the cost in all of them only if all allow it. */
  consume(checks: readonly WindowCheck[]): Promise<WindowResult[]>;
  /** Adds usage known only afterwards (tokens) without refusing anything. */
  record(key: string, windowMs: number, cost: number): Promise<void>;
  acquire(key: string, limit: number): Promise<boolean>;
  release(key: string): Promise<void>;
};

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

export function createMemoryLimitStore(now: () => number = Date.now): LimitStore & { stop(): void } {
  const logs = new Map<string, Log>();
  const slots = new Map<string, number>();
  const logFor = (key: string) => {
    let log = logs.get(key);
    if (!log) logs.set(key, (log = { times: [], costs: [], total: 0 }));
    return log;
  };
  const sweeper = setInterval(() => {
    const t = now();
    for (const [key, log] of logs) {
      prune(log, t, MAX_WINDOW_MS);
      if (log.times.length === 0) logs.delete(key);
    }
  }, SWEEP_INTERVAL_MS);
  sweeper.unref?.();
  return {
    async consume(checks) {
      const t = now();
      const results = checks.map((check) => {
        const log = logFor(check.key);
        prune(log, t, check.windowMs);
        const allowed = log.total + check.cost <= check.limit;
        const oldest = log.times[0];
        const retryAfterMs = allowed || oldest === undefined ? 0 : Math.max(1, oldest + check.windowMs - t);
        return { allowed, remaining: Math.max(0, check.limit - log.total - (allowed ? check.cost : 0)), retryAfterMs };
      });
      if (results.every((r) => r.allowed)) {
        for (const check of checks) {
          if (check.record === false) continue;
          const log = logFor(check.key);
          log.times.push(t);
          log.costs.push(check.cost);
          log.total += check.cost;
        }
      }
      return results;
    },
    async record(key, _windowMs, cost) {
      const log = logFor(key);
      log.times.push(now());
      log.costs.push(cost);
      log.total += cost;
    },
    async acquire(key, limit) {
      const used = slots.get(key) ?? 0;
      if (used >= limit) return false;
      slots.set(key, used + 1);
      return true;
    },
    async release(key) {
      const used = (slots.get(key) ?? 1) - 1;
      if (used <= 0) slots.delete(key);
      else slots.set(key, used);
    },
    stop: () => clearInterval(sweeper),
  };
}
