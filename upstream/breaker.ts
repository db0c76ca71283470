/**
 * Circuit breakers, one per channel and model. Closed: traffic flows, and failures before the
 * answer starts are counted in a sliding window; `failures` of them within `windowMs` open it.
 * Open: the channel gets no traffic for that model until `cooldownMs` has passed. Half-open: one
 * request (the probe) is let through; its success closes the breaker, its failure opens it again
 * for another cool-down. Failures of requests admitted before the breaker opened do not count.
 *
 * This is the in-process breaker set; breaker-redis.ts shares one between replicas.
 */

export type BreakerSettings = { failures: number; windowMs: number; cooldownMs: number };
export type BreakerState = 'closed' | 'open' | 'half_open';
/** How an attempt was let through: as ordinary traffic, or as the probe of a half-open breaker. */
export type Pass = 'closed' | 'probe';
export type BreakerView = { key: string; state: BreakerState; retryAt: number | null };
export type BreakerChange = BreakerView & { cause: 'failures' | 'probe_failed' | 'probe' | 'probe_succeeded' };

export type Breakers = {
  /** undefined: the breaker is open (or its probe is out), so the attempt must go elsewhere. */
  admit(key: string, probeLeaseMs: number): Pass | undefined | Promise<Pass | undefined>;
  success(key: string, pass: Pass): void;
  failure(key: string, pass: Pass): void;
  /** Milliseconds until an open breaker lets a probe through; 0 when it is not open. */
  retryAfterMs(key: string): number;
  snapshot(): BreakerView[];
  stop(): void;
};

/** Breaker keys stay bounded: a closed breaker with no recent failure is forgotten. */
const MAX_TRACKED_BREAKERS = 10_000;

type Entry = { state: BreakerState; failures: number[]; retryAt: number; probeUntil: number };

export type LocalBreakers = Breakers & {
  /**
   * Takes a state decided elsewhere (another replica, through Redis), without reporting it. A
   * probe this replica has out keeps its half-open state until it reports, unless `force`.
   */
  adopt(key: string, state: 'open' | 'closed', retryAt: number, force?: boolean): void;
  stateOf(key: string): BreakerState;
};

export function createMemoryBreakers(
  settings: BreakerSettings,
  onChange: (change: BreakerChange) => void,
  now: () => number = Date.now,
): LocalBreakers {
  const entries = new Map<string, Entry>();
  const entry = (key: string): Entry => {
    let found = entries.get(key);
    if (!found) {
      if (entries.size >= MAX_TRACKED_BREAKERS) {
        for (const [k, e] of entries) if (e.state === 'closed') entries.delete(k);
      }
      found = { state: 'closed', failures: [], retryAt: 0, probeUntil: 0 };
      entries.set(key, found);
    }
    return found;
  };
  const open = (key: string, e: Entry, cause: BreakerChange['cause']) => {
    e.state = 'open';
    e.failures = [];
    e.retryAt = now() + settings.cooldownMs;
    onChange({ key, state: 'open', retryAt: e.retryAt, cause });
  };
  return {
    admit(key, probeLeaseMs) {
      const e = entries.get(key);
      if (!e || e.state === 'closed') return 'closed';
      const t = now();
      if (e.state === 'open' && t < e.retryAt) return undefined;
      if (e.state === 'half_open' && t < e.probeUntil) return undefined;
      e.state = 'half_open';
      e.probeUntil = t + probeLeaseMs;
      onChange({ key, state: 'half_open', retryAt: null, cause: 'probe' });
      return 'probe';
    },
    success(key, pass) {
      // Only a probe closes a breaker: requests let through before it opened prove nothing new.
      if (pass !== 'probe' || !entries.has(key)) return;
      entries.delete(key);
      onChange({ key, state: 'closed', retryAt: null, cause: 'probe_succeeded' });
    },
    failure(key, pass) {
      const e = entry(key);
      if (pass === 'probe') {
        if (e.state === 'half_open') open(key, e, 'probe_failed');
        return;
      }
      if (e.state !== 'closed') return;
      const t = now();
      e.failures = e.failures.filter((at) => at > t - settings.windowMs);
      e.failures.push(t);
      if (e.failures.length >= settings.failures) open(key, e, 'failures');
    },
    retryAfterMs(key) {
      const e = entries.get(key);
      return e && e.state !== 'closed' ? Math.max(0, e.retryAt - now()) : 0;
    },
    snapshot: () =>
      [...entries]
        .filter(([, e]) => e.state !== 'closed')
        .map(([key, e]) => ({ key, state: e.state, retryAt: e.state === 'open' ? e.retryAt : null })),
    adopt(key, state, retryAt, force = false) {
      const e = entry(key);
      if (e.state === 'half_open' && now() < e.probeUntil && !force) return;
      if (state === 'closed') {
        entries.delete(key);
        return;
      }
      e.state = 'open';
      e.failures = [];
      e.retryAt = retryAt;
    },
    stateOf: (key) => entries.get(key)?.state ?? 'closed',
    stop() {},
  };
}

/** The breaker of one channel (by id, or by name for a route's own upstream) and one model. */
export function breakerKey(channel: { id: string | null; name: string }, model: string): string {
  return `${channel.id ?? channel.name}\u0000${model}`;
}

export function splitBreakerKey(key: string): { channel: string; model: string } {
  const at = key.indexOf('\u0000');
  return { channel: key.slice(0, at), model: key.slice(at + 1) };
}
