import type Redis from 'ioredis';
import { type Logger, reasonOf } from '../app/log.ts';
import { createMemoryBreakers, type BreakerChange, type BreakerSettings, type Breakers } from './breaker.ts';

/**
 * Breakers shared by every replica through Redis. Each replica decides from its own memory, so
 * routing never waits on Redis; what is shared is the part that changes rarely:
 * - a failure is added to the breaker's sliding log in Redis (one script call, off the answer's
 *   path); the call that reaches the threshold opens the breaker for everyone;
 * - open breakers are one hash (field = breaker, value = when its cool-down ends, Redis time),
 *   which every replica reads every BREAKER_SYNC_INTERVAL_MS and adopts;
 * - after the cool-down, one replica wins the probe (SET NX with a lease); the probe's success
 *   removes the field, its failure sets a new cool-down.
 * While Redis is unreachable each replica counts and opens on its own (the in-process breakers).
 */

export const BREAKER_SYNC_INTERVAL_MS = 500;
/** An open breaker whose cool-down ended this long ago without a probe is forgotten. */
const STALE_OPEN_MS = 60_000;
const PREFIX = 'tg:breaker:';
const OPEN_HASH = `${PREFIX}open`;

/** KEYS: failure log, open hash. ARGV: field, window ms, threshold, cool-down ms, member. Returns 1 if it opened. */
const FAILURE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[2], ARGV[1], now + tonumber(ARGV[4]))
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`;

/** KEYS: open hash, probe key. ARGV: field, cool-down ms. */
const REOPEN_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], now + tonumber(ARGV[2]))
redis.call('DEL', KEYS[2])
return 1`;

/**
 * KEYS: open hash. ARGV: stale ms. Returns field, milliseconds left of its cool-down (negative
 * once passed), … A breaker nobody probed for `stale ms` after its cool-down (no traffic) is
 * dropped: it closes, and fresh failures open it again.
 */
const STATE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local left = tonumber(all[i + 1]) - now
  if left < -tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], all[i])
  else
    out[#out + 1] = all[i]
    out[#out + 1] = left
  end
end
return out`;

type Scripts = {
  tgBreakerFailure(...args: (string | number)[]): Promise<number>;
  tgBreakerReopen(...args: (string | number)[]): Promise<number>;
  tgBreakerState(...args: (string | number)[]): Promise<(string | number)[]>;
};

function defineScripts(client: Redis): Scripts {
  client.defineCommand('tgBreakerFailure', { numberOfKeys: 2, lua: FAILURE_SCRIPT });
  client.defineCommand('tgBreakerReopen', { numberOfKeys: 2, lua: REOPEN_SCRIPT });
  client.defineCommand('tgBreakerState', { numberOfKeys: 1, lua: STATE_SCRIPT });
  return client as unknown as Scripts;
}

const failureLog = (key: string) => `${PREFIX}fail:${key}`;
const probeKey = (key: string) => `${PREFIX}probe:${key}`;

/**
 * Writes a failure to Redis: a failed probe sets a new cool-down; any other failure joins the
 * breaker's log, unless this replica already holds it open. Resolves to 1 when the write opened it.
 */
function sharedFailure(
  scripts: Scripts,
  settings: BreakerSettings,
  key: string,
  seen: 'probe' | 'closed' | 'open' | 'half_open',
): Promise<number> {
  if (seen === 'probe') return scripts.tgBreakerReopen(OPEN_HASH, probeKey(key), key, settings.cooldownMs);
  if (seen !== 'closed') return Promise.resolve(0);
  const member = `${Date.now()}:${Math.random()}`;
  const { windowMs, failures, cooldownMs } = settings;
  return scripts.tgBreakerFailure(failureLog(key), OPEN_HASH, key, windowMs, failures, cooldownMs, member);
}

export function createRedisBreakers(
  client: Redis,
  settings: BreakerSettings,
  log: Logger,
  onChange: (change: BreakerChange) => void,
): Breakers {
  const scripts = defineScripts(client);
  const local = createMemoryBreakers(settings, onChange);
  let shared = true;
  const failed = (error: unknown) => {
    if (shared)
      log.warn('breakers: Redis unreachable, each replica decides alone', {
        reason: reasonOf(error),
      });
    shared = false;
  };
  const sync = async () => {
    const reply = await scripts.tgBreakerState(OPEN_HASH, STALE_OPEN_MS);
    const now = Date.now();
    const open = new Map<string, number>();
    for (let i = 0; i + 1 < reply.length; i += 2) open.set(String(reply[i]), now + Number(reply[i + 1]));
    for (const view of local.snapshot()) if (!open.has(view.key)) local.adopt(view.key, 'closed', 0);
    for (const [key, retryAt] of open) local.adopt(key, 'open', retryAt);
    if (!shared) log.info('breakers: shared through Redis again');
    shared = true;
  };
  const timer = setInterval(() => void sync().catch(failed), BREAKER_SYNC_INTERVAL_MS);
  timer.unref?.();
  void sync().catch(failed);
  return {
    admit(key, probeLeaseMs) {
      const pass = local.admit(key, probeLeaseMs);
      if (pass !== 'probe' || !shared) return pass;
      // One probe for all replicas: the one that sets the lease goes, the others wait for its verdict.
      return client.set(probeKey(key), '1', 'PX', probeLeaseMs, 'NX').then(
        (won) => {
          if (won === 'OK') return 'probe';
          local.adopt(key, 'open', Date.now() + BREAKER_SYNC_INTERVAL_MS, true);
          return undefined;
        },
        (error: unknown) => {
          failed(error);
          return 'probe';
        },
      );
    },
    success(key, pass) {
      local.success(key, pass);
      if (pass !== 'probe' || !shared) return;
      client.multi().hdel(OPEN_HASH, key).del(probeKey(key), failureLog(key)).exec().catch(failed);
    },
    failure(key, pass) {
      const before = local.stateOf(key);
      local.failure(key, pass);
      if (!shared) return;
      sharedFailure(scripts, settings, key, pass === 'probe' ? 'probe' : before)
        .then((opened) => {
          if (opened === 1 && pass !== 'probe' && local.stateOf(key) === 'closed') {
            local.adopt(key, 'open', Date.now() + settings.cooldownMs);
            onChange({ key, state: 'open', retryAt: Date.now() + settings.cooldownMs, cause: 'failures' });
          }
        })
        .catch(failed);
    },
    retryAfterMs: (key) => local.retryAfterMs(key),
    snapshot: () => local.snapshot(),
    stop: () => clearInterval(timer),
  };
}
