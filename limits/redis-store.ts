import type Redis from 'ioredis';
import {
  createMemoryLimitStore,
  type Admission,
  type LimitStore,
  type SpendCheck,
  type SpendWindow,
  type WindowCheck,
} from './store.ts';
import { type Logger, reasonOf } from '../app/log.ts';
import {
  ACQUIRE_SCRIPT,
  CONSUME_SCRIPT,
  RECORD_SCRIPT,
  RECORD_SPEND_SCRIPT,
  REFRESH_SCRIPT,
  RELEASE_SCRIPT,
  SEED_SPEND_SCRIPT,
} from './redis-scripts.ts';

/**
 * Rate limits shared by every replica through Redis. Each window is a sliding log in a sorted set
 * (member `<id>:<cost>`, score = Redis time in ms) plus a running total beside it, so a check costs
 * O(expired entries), not O(window). All windows of a request are checked, and recorded only if
 * all allow, in one Lua script: one round trip, atomic, timed by Redis `TIME` (replica clocks do
 * not matter). Concurrency slots are per-request leases in a sorted set (request id → expiry), taken
 * and given back by one script each and refreshed while held, so the slots of a replica that died
 * free themselves after `LEASE_MS`. This replica remembers, per key and request, only whether the
 * lease is in Redis or in its local store, written after the script answers and never from a copy
 * read before it: concurrent acquires of one key lost each other's leases that way (issue 18).
 *
 * Spending periods are hashes (`w` = the UTC day or month they count, `s` = nano-dollars spent)
 * that reset when a new period starts and expire when theirs ends.
 *
 * Outage policy: any Redis error (down, timeout after REDIS_COMMAND_TIMEOUT_MS) switches this
 * replica to its in-process store with each limit divided by `replicas` (at least 1), so N replicas
 * together still admit at most the limit (rounding down). Spend recorded in Redis before the outage
 * is unknown locally, so a spending period that spans an outage may reach up to twice its limit.
 * One line is logged when falling back and
 * one when shared counting resumes; a probe checks Redis every PROBE_INTERVAL_MS meanwhile, so no
 * request waits on a Redis that is known to be down.
 */

const KEY_PREFIX = 'tg:limit:';
export const LEASE_MS = 60_000;
const LEASE_REFRESH_MS = 20_000;
const PROBE_INTERVAL_MS = 500;

type Scripts = {
  tgConsume(...args: (string | number)[]): Promise<(number | string)[]>;
  tgRecord(...args: (string | number)[]): Promise<number>;
  tgRecordSpend(...args: (string | number)[]): Promise<number>;
  tgAcquire(...args: (string | number)[]): Promise<number>;
  tgRelease(...args: (string | number)[]): Promise<number>;
  tgRefresh(...args: (string | number)[]): Promise<number>;
  tgSeedSpend(...args: (string | number)[]): Promise<number>;
};

/** Per key, per holder: whether its lease lives in Redis (`true`) or in the local store. */
type Leases = Map<string, Map<string, boolean>>;

export type RedisLimitStore = LimitStore & { readonly shared: boolean; stop(): void };

function defineScripts(client: Redis): Scripts {
  client.defineCommand('tgConsume', { lua: CONSUME_SCRIPT });
  client.defineCommand('tgRecord', { numberOfKeys: 2, lua: RECORD_SCRIPT });
  client.defineCommand('tgRecordSpend', { lua: RECORD_SPEND_SCRIPT });
  client.defineCommand('tgAcquire', { numberOfKeys: 1, lua: ACQUIRE_SCRIPT });
  client.defineCommand('tgRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
  client.defineCommand('tgRefresh', { lua: REFRESH_SCRIPT });
  client.defineCommand('tgSeedSpend', { numberOfKeys: 1, lua: SEED_SPEND_SCRIPT });
  return client as unknown as Scripts;
}

/** The local share of a limit while Redis is unreachable: the replicas together stay within it. */
export function localShare(limit: number, replicas: number): number {
  return Math.max(1, Math.floor(limit / Math.max(1, replicas)));
}

/** The same share of a spending limit, in whole nano-dollars. */
export function localSpendShare(limitNanos: bigint, replicas: number): bigint {
  const share = limitNanos / BigInt(Math.max(1, replicas));
  return share > 0n ? share : 1n;
}

const spendKey = ({ key, period }: SpendWindow) => `${KEY_PREFIX}spend:${period}:${key}`;

/** One script call for every window and spending period of a request. */
async function consumeShared(
  scripts: Scripts,
  checks: readonly WindowCheck[],
  spends: readonly SpendCheck[],
): Promise<Admission> {
  const keys = [
    ...checks.flatMap((check) => [
      `${KEY_PREFIX}${check.key}:${check.windowMs}`,
      `${KEY_PREFIX}${check.key}:${check.windowMs}:total`,
    ]),
    ...spends.map(spendKey),
  ];
  const args = [
    ...checks.flatMap((check) => [check.limit, check.windowMs, check.cost, check.record === false ? '0' : '1']),
    ...spends.flatMap((spend) => [spend.period, spend.limitNanos.toString()]),
  ];
  const raw = await scripts.tgConsume(keys.length, ...keys, Bun.randomUUIDv7(), checks.length, ...args);
  const at = (i: number) => raw[i] ?? 0;
  return {
    windows: checks.map((check, i) => {
      const allowed = at(3 * i) === 1;
      const total = Number(at(3 * i + 1));
      return {
        allowed,
        remaining: Math.max(0, check.limit - total - (allowed ? check.cost : 0)),
        retryAfterMs: Number(at(3 * i + 2)),
      };
    }),
    spends: spends.map((_, j) => {
      const i = checks.length + j;
      return { allowed: at(3 * i) === 1, spentNanos: BigInt(at(3 * i + 1)), retryAfterMs: Number(at(3 * i + 2)) };
    }),
  };
}

export function createRedisLimitStore(client: Redis, log: Logger, replicas: number): RedisLimitStore {
  const scripts = defineScripts(client);
  const local = createMemoryLimitStore();
  const leases: Leases = new Map();
  let shared = true;
  let probing: ReturnType<typeof setInterval> | undefined;

  const degrade = (error: unknown) => {
    if (!shared) return;
    shared = false;
    log.warn("redis unreachable: rate limits fall back to this replica's share", {
      replicas,
      reason: reasonOf(error),
    });
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
      for (const [holder, inRedis] of held) {
        if (inRedis) {
          keys.push(KEY_PREFIX + key);
          members.push(holder);
        }
      }
    }
    if (shared && keys.length > 0) scripts.tgRefresh(keys.length, ...keys, LEASE_MS, ...members).catch(degrade);
  }, LEASE_REFRESH_MS);
  refresher.unref?.();

  const localChecks = (checks: readonly WindowCheck[]) =>
    checks.map((check) => ({ ...check, limit: localShare(check.limit, replicas) }));

  return {
    get shared() {
      return shared;
    },
    async consume(checks, spends = []) {
      if (checks.length === 0 && spends.length === 0) return { windows: [], spends: [] };
      if (shared) {
        try {
          return await consumeShared(scripts, checks, spends);
        } catch (error) {
          degrade(error);
        }
      }
      return local.consume(
        localChecks(checks),
        spends.map((spend) => ({ ...spend, limitNanos: localSpendShare(spend.limitNanos, replicas) })),
      );
    },
    async record(key, windowMs, cost) {
      if (shared) {
        try {
          await scripts.tgRecord(
            `${KEY_PREFIX}${key}:${windowMs}`,
            `${KEY_PREFIX}${key}:${windowMs}:total`,
            Bun.randomUUIDv7(),
            windowMs,
            cost,
          );
          return;
        } catch (error) {
          degrade(error);
        }
      }
      await local.record(key, windowMs, cost);
    },
    async recordSpend(windows, amountNanos) {
      if (windows.length === 0) return;
      if (shared) {
        try {
          await scripts.tgRecordSpend(
            windows.length,
            ...windows.map(spendKey),
            amountNanos.toString(),
            ...windows.map((w) => w.period),
          );
          return;
        } catch (error) {
          degrade(error);
        }
      }
      await local.recordSpend(windows, amountNanos);
    },
    async seedSpend(window, index, amountNanos) {
      if (shared) {
        try {
          await scripts.tgSeedSpend(spendKey(window), window.period, index, amountNanos.toString());
          return;
        } catch (error) {
          degrade(error);
        }
      }
      await local.seedSpend(window, index, amountNanos);
    },
    // Redis decides the period by its own clock; a seed for a period it has left is ignored there.
    now: Date.now,
    async acquire(key, limit, holder) {
      let inRedis = false;
      if (shared) {
        try {
          if ((await scripts.tgAcquire(KEY_PREFIX + key, limit, LEASE_MS, holder)) !== 1) return false;
          inRedis = true;
        } catch (error) {
          degrade(error);
        }
      }
      if (!inRedis && !(await local.acquire(key, localShare(limit, replicas), holder))) return false;
      const held = leases.get(key) ?? new Map<string, boolean>();
      held.set(holder, inRedis);
      leases.set(key, held);
      return true;
    },
    async release(key, holder) {
      const held = leases.get(key);
      const inRedis = held?.get(holder);
      if (!held || inRedis === undefined) return;
      held.delete(holder);
      if (held.size === 0) leases.delete(key);
      if (!inRedis) return local.release(key, holder);
      // A lease Redis cannot take back now expires by itself after LEASE_MS.
      await scripts.tgRelease(KEY_PREFIX + key, holder).then(() => undefined, degrade);
    },
    stop() {
      clearInterval(refresher);
      if (probing) clearInterval(probing);
      local.stop();
    },
  };
}
