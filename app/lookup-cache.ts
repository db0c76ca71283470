import { serviceUnavailable } from '../core/errors.ts';

/**
 * How long the request path waits for a database lookup (a key, a policy, a price, an origin
 * list) before answering 503. A database that is frozen or cut off without refusing connections
 * must not hang clients: a lookup on a cache miss gets the same deadline as the hold.
 */
export const DATABASE_DEADLINE_MS = 2_000;

/** Settles with the work, or rejects with a 503 once the deadline passes (the work runs on). */
export function withinDatabaseDeadline<T>(work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(serviceUnavailable()), DATABASE_DEADLINE_MS);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

export type LookupCache<T> = { get(key: string, load: () => Promise<T>): Promise<T> };
export type LookupCacheOptions = { ttlMs: number; maxEntries: number; now?: () => number };

/**
 * Database lookups cached by key for a short time-to-live, so the request path rarely queries the
 * database and a change reaches every replica within the TTL. Concurrent callers share one lookup;
 * a failed or timed-out lookup is dropped so that the next caller tries again.
 */
export function createLookupCache<T>(options: LookupCacheOptions): LookupCache<T> {
  const now = options.now ?? Date.now;
  const entries = new Map<string, { value: Promise<T>; expiresAt: number }>();
  return {
    get(key, load) {
      const hit = entries.get(key);
      if (hit && hit.expiresAt > now()) return hit.value;
      if (entries.size >= options.maxEntries) entries.clear();
      const value = withinDatabaseDeadline(load());
      entries.set(key, { value, expiresAt: now() + options.ttlMs });
      value.catch(() => {
        if (entries.get(key)?.value === value) entries.delete(key);
      });
      return value;
    },
  };
}
