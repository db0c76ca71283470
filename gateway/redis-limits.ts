import type Redis from 'ioredis';
import { createMemoryLimitStore, type LimitStore, type WindowCheck, type WindowResult } from './limits.ts';
import type { Logger } from './log.ts';

/**
 * Rate limits shared by every replica through Redis. Each window is a sliding log in a sorted set
 * (member `<id>:<cost>`, score = Redis time in ms) plus a running total beside it, so a check costs
 * O(expired entries), not O(window). All windows of a request are checked, and recorded only if
 * all allow, in one Lua script: one round trip, atomic, timed by Redis `TIME` (replica clocks do
 * not matter). Concurrency slots are leases in a sorted set scored by their expiry, refreshed while
 * held, so the slots of a replica that died free themselves after `LEASE_MS`.
 *
 * Outage policy: any Redis error (down, timeout after REDIS_COMMAND_TIMEOUT_MS) switches this
 * replica to its in-process store with each limit divided by `replicas` (at least 1), so N replicas
 * together still admit at most the limit (rounding down). One line is logged when falling back and
 * one when shared counting resumes; a probe checks Redis every PROBE_INTERVAL_MS meanwhile, so no
 * request waits on a Redis that is known to be down.
 */

const KEY_PREFIX = 'tg:limit:';
export const LEASE_MS = 60_000;
const LEASE_REFRESH_MS = 20_000;
const PROBE_INTERVAL_MS = 500;

const CONSUME_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = ARGV[1]
local n = #KEYS / 2
local out = {}
local allowed = true
local totals = {}
for i = 1, n do
  local log, sum = KEYS[2 * i - 1], KEYS[2 * i]
  local limit, window, cost = tonumber(ARGV[4 * i - 2]), tonumber(ARGV[4 * i - 1]), tonumber(ARGV[4 * i])
  local expired = redis.call('ZRANGEBYSCORE', log, '-inf', now - window)
  local total
  if #expired > 0 then
    local drop = 0
    for _, m in ipairs(expired) do drop = drop + tonumber(string.match(m, ':(%d+)$')) end
    redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
    total = redis.call('DECRBY', sum, drop)
  else
    total = tonumber(redis.call('GET', sum) or '0')
  end
  if redis.call('ZCARD', log) == 0 then total = 0 end
  totals[i] = total
  local ok = total + cost <= limit
  local retry = 0
  if not ok then
    allowed = false
    local oldest = redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')
    if oldest[2] then retry = math.max(1, tonumber(oldest[2]) + window - now) end
  end
  out[3 * i - 2] = ok and 1 or 0
  out[3 * i - 1] = total
  out[3 * i] = retry
end
if allowed then
  for i = 1, n do
    local log, sum = KEYS[2 * i - 1], KEYS[2 * i]
    local window, cost, record = tonumber(ARGV[4 * i - 1]), tonumber(ARGV[4 * i]), ARGV[4 * i + 1]
    if record == '1' then
      if totals[i] == 0 then redis.call('SET', sum, 0) end
      redis.call('ZADD', log, now, id .. ':' .. i .. ':' .. cost)
      redis.call('INCRBY', sum, cost)
      redis.call('PEXPIRE', log, window)
      redis.call('PEXPIRE', sum, window)
    end
  end
end
return out
`;

const RECORD_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SET', KEYS[2], 0) end
redis.call('ZADD', KEYS[1], now, ARGV[1] .. ':' .. ARGV[3])
redis.call('INCRBY', KEYS[2], tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`;

const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

const REFRESH_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', now + tonumber(ARGV[1]), ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
end
return 1
`;

type Scripts = {
  tgConsume(...args: (string | number)[]): Promise<number[]>;
  tgRecord(...args: (string | number)[]): Promise<number>;
  tgAcquire(...args: (string | number)[]): Promise<number>;
  tgRefresh(...args: (string | number)[]): Promise<number>;
};

type Lease = { shared: true; member: string } | { shared: false };

export type RedisLimitStore = LimitStore & { readonly shared: boolean; stop(): void };

function defineScripts(client: Redis): Scripts {
  client.defineCommand('tgConsume', { lua: CONSUME_SCRIPT });
  client.defineCommand('tgRecord', { numberOfKeys: 2, lua: RECORD_SCRIPT });
  client.defineCommand('tgAcquire', { numberOfKeys: 1, lua: ACQUIRE_SCRIPT });
  client.defineCommand('tgRefresh', { lua: REFRESH_SCRIPT });
  return client as unknown as Scripts;
}

/** The local share of a limit while Redis is unreachable: the replicas together stay within it. */
export function localShare(limit: number, replicas: number): number {
  return Math.max(1, Math.floor(limit / Math.max(1, replicas)));
}

export function createRedisLimitStore(client: Redis, log: Logger, replicas: number): RedisLimitStore {
  const scripts = defineScripts(client);
  const local = createMemoryLimitStore();
  const leases = new Map<string, Lease[]>();
  let shared = true;
  let probing: ReturnType<typeof setInterval> | undefined;

  const degrade = (error: unknown) => {
    if (!shared) return;
    shared = false;
    log.warn('redis unreachable: rate limits fall back to this replica\'s share', { replicas, reason: error instanceof Error ? error.message : String(error) });
    probing = setInterval(() => {
      if (client.status !== 'ready') return;
      client.ping().then(
        () => {
          if (shared) return;
          shared = true;
          clearInterval(probing);
          probing = undefined;
          log.info('redis reachable again: rate limits are shared across replicas');
        },
        () => {},
      );
    }, PROBE_INTERVAL_MS);
    probing.unref?.();
  };

  const refresher = setInterval(() => {
    const keys: string[] = [];
    const members: string[] = [];
    for (const [key, held] of leases) {
      for (const lease of held) {
        if (lease.shared) {
          keys.push(KEY_PREFIX + key);
          members.push(lease.member);
        }
      }
    }
    if (shared && keys.length > 0) scripts.tgRefresh(keys.length, ...keys, LEASE_MS, ...members).catch(degrade);
  }, LEASE_REFRESH_MS);
  refresher.unref?.();

  const localChecks = (checks: readonly WindowCheck[]) => checks.map((check) => ({ ...check, limit: localShare(check.limit, replicas) }));

  return {
    get shared() {
      return shared;
    },
    async consume(checks) {
      if (checks.length === 0) return [];
      if (shared) {
        try {
          const keys = checks.flatMap((check) => [`${KEY_PREFIX}${check.key}:${check.windowMs}`, `${KEY_PREFIX}${check.key}:${check.windowMs}:total`]);
          const args = checks.flatMap((check) => [check.limit, check.windowMs, check.cost, check.record === false ? '0' : '1']);
          const raw = await scripts.tgConsume(keys.length, ...keys, Bun.randomUUIDv7(), ...args);
          return checks.map((check, i): WindowResult => {
            const allowed = raw[3 * i] === 1;
            const total = raw[3 * i + 1] ?? 0;
            return { allowed, remaining: Math.max(0, check.limit - total - (allowed ? check.cost : 0)), retryAfterMs: raw[3 * i + 2] ?? 0 };
          });
        } catch (error) {
          degrade(error);
        }
      }
      return local.consume(localChecks(checks));
    },
    async record(key, windowMs, cost) {
      if (shared) {
        try {
          await scripts.tgRecord(`${KEY_PREFIX}${key}:${windowMs}`, `${KEY_PREFIX}${key}:${windowMs}:total`, Bun.randomUUIDv7(), windowMs, cost);
          return;
        } catch (error) {
          degrade(error);
        }
      }
      await local.record(key, windowMs, cost);
    },
    async acquire(key, limit) {
      const held = leases.get(key) ?? [];
      let lease: Lease | undefined;
      if (shared) {
        try {
          const member = Bun.randomUUIDv7();
          if ((await scripts.tgAcquire(KEY_PREFIX + key, limit, LEASE_MS, member)) !== 1) return false;
          lease = { shared: true, member };
        } catch (error) {
          degrade(error);
        }
      }
      if (!lease) {
        if (!(await local.acquire(key, localShare(limit, replicas)))) return false;
        lease = { shared: false };
      }
      held.push(lease);
      leases.set(key, held);
      return true;
    },
    async release(key) {
      const held = leases.get(key);
      const lease = held?.pop();
      if (held && held.length === 0) leases.delete(key);
      if (!lease) return;
      if (!lease.shared) return local.release(key);
      // A lease Redis cannot take back now expires by itself after LEASE_MS.
      await client.zrem(KEY_PREFIX + key, lease.member).catch(degrade);
    },
    stop() {
      clearInterval(refresher);
      if (probing) clearInterval(probing);
      local.stop();
    },
  };
}
