import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type Redis from 'ioredis';
import { spendPeriodAt, type SpendPeriod } from '../../limits/store.ts';
import { createLogger } from '../../app/log.ts';
import { PERIOD_LUA } from '../../limits/redis-scripts.ts';
import { createRedisLimitStore, localSpendShare, type RedisLimitStore } from '../../limits/redis-store.ts';
import { connectRedis } from '../../app/redis.ts';
import { testRedisUrl } from '../helpers.ts';
import { eventually } from '../gateway/harness.ts';
import { dedicatedRedis, type TestRedis } from './redis-server.ts';
import { chat, startReplicas, type Replicas } from './replicas.ts';

const log = createLogger('error', () => {});
const NO_CAP = 1n << 62n;
let clients: Redis[] = [];
let stores: RedisLimitStore[] = [];

async function replica(url: string, replicas = 2): Promise<RedisLimitStore> {
  const client = connectRedis(url, log);
  const store = createRedisLimitStore(client, log, replicas);
  clients.push(client);
  stores.push(store);
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return store;
}
const spentIn = async (store: RedisLimitStore, key: string, period: SpendPeriod = 'day') =>
  (await store.consume([], [{ key, period, limitNanos: NO_CAP }])).spends[0]?.spentNanos;

afterAll(() => {
  for (const store of stores) store.stop();
  for (const client of clients) client.disconnect();
  stores = [];
  clients = [];
});

describe('spending periods in Redis', () => {
  test('the Lua calendar agrees with spendPeriodAt on day and month ends, leap days and year ends', async () => {
    await replica(testRedisUrl());
    const client = clients.at(-1) as Redis;
    const times = [
      Date.UTC(2024, 1, 29, 23, 59, 59, 999),
      Date.UTC(2024, 2, 1),
      Date.UTC(2024, 11, 31, 23, 59, 59, 999),
      Date.UTC(2025, 0, 1),
      Date.UTC(2100, 1, 28, 12),
      Date.UTC(2000, 1, 29, 1),
      Date.UTC(1999, 11, 31, 23),
      Date.UTC(2025, 6, 31, 23, 59, 59, 999),
      Date.now(),
    ];
    for (const t of times) {
      for (const period of ['day', 'month'] as const) {
        const [index, endsAt] = (await client.eval(
          `${PERIOD_LUA}\nlocal i, e = period_of(ARGV[1], tonumber(ARGV[2]))\nreturn {i, e}`,
          0,
          period,
          t,
        )) as [number, number];
        const expected = spendPeriodAt(period, t);
        expect({ period, t, index, endsAt }).toEqual({ period, t, index: expected.index, endsAt: expected.endsAt });
      }
    }
  });

  test('two replicas share one day spend, refused exactly when it reaches the limit, with retry-after to midnight UTC', async () => {
    const a = await replica(testRedisUrl());
    const b = await replica(testRedisUrl());
    const key = `key:${crypto.randomUUID()}`;
    const window = [{ key, period: 'day' as const }];
    const check = (limitNanos: bigint) =>
      b.consume([{ key: `rpm:${key}`, limit: 100, windowMs: 60_000, cost: 1 }], [{ ...window[0]!, limitNanos }]);
    await a.recordSpend(window, 700n);
    await b.recordSpend(window, 300n);
    expect(await spentIn(a, key)).toBe(1_000n);
    expect((await check(1_001n)).spends[0]?.allowed).toBe(true);
    const refused = await check(1_000n);
    expect(refused.spends[0]).toMatchObject({ allowed: false, spentNanos: 1_000n });
    const untilMidnight = spendPeriodAt('day', Date.now()).endsAt - Date.now();
    expect(Math.abs((refused.spends[0]?.retryAfterMs ?? 0) - untilMidnight)).toBeLessThan(2_000);
    // The refusal recorded nothing in the request window: one earlier admission plus this one.
    expect((await check(NO_CAP)).windows[0]?.remaining).toBe(100 - 2);
  });

  test('spend counters are exact beyond 2^53 nano-dollars', async () => {
    const store = await replica(testRedisUrl());
    const key = `account:${crypto.randomUUID()}`;
    const big = 9_000_000_000_000_000_001n;
    await store.recordSpend([{ key, period: 'month' }], big);
    expect(await spentIn(store, key, 'month')).toBe(big);
    expect((await store.consume([], [{ key, period: 'month', limitNanos: big + 1n }])).spends[0]?.allowed).toBe(true);
    expect((await store.consume([], [{ key, period: 'month', limitNanos: big }])).spends[0]?.allowed).toBe(false);
  });

  test('the spend hash expires when its period ends', async () => {
    const store = await replica(testRedisUrl());
    const key = `tenant:${crypto.randomUUID()}`;
    await store.recordSpend([{ key, period: 'day' }], 5n);
    const client = clients.at(-1) as Redis;
    const expiresAt = await client.pexpiretime(`tg:limit:spend:day:${key}`);
    expect(Math.abs(expiresAt - spendPeriodAt('day', Date.now()).endsAt)).toBeLessThan(2_000);
  });
});

describe('spending limits while Redis is down', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await dedicatedRedis();
  });
  afterAll(async () => {
    await redis.kill();
  });

  test('each replica counts its own share of the limit, without waiting on Redis', async () => {
    expect(localSpendShare(1_001n, 2)).toBe(500n);
    expect(localSpendShare(1n, 4)).toBe(1n);
    const store = await replica(redis.url, 2);
    const key = `key:${crypto.randomUUID()}`;
    const spend = [{ key, period: 'day' as const, limitNanos: 1_000n }];
    await redis.kill();
    const started = performance.now();
    await store.recordSpend(spend, 499n);
    expect((await store.consume([], spend)).spends[0]?.allowed).toBe(true);
    await store.recordSpend(spend, 1n);
    expect((await store.consume([], spend)).spends[0]).toMatchObject({ allowed: false, spentNanos: 500n });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(store.shared).toBe(false);
  });
});

describe('spending limits through two gateway replicas', () => {
  let r: Replicas;
  beforeAll(async () => {
    r = await startReplicas(2, testRedisUrl());
  });
  afterAll(async () => {
    await r.close();
  });

  test('a key with a day limit of two charges gets two answers across both replicas, then 429 until midnight UTC', async () => {
    const probe = await r.customer('1');
    expect((await chat(r.gateways[0]!, probe.key)).status).toBe(200);
    const rows = await eventually(
      () => r.sql<{ charge_nanos: bigint }[]>`select charge_nanos from requests where api_key_id = ${probe.keyId}`,
      (x) => x.length === 1,
    );
    const c = rows[0]?.charge_nanos ?? 0n;
    expect(c).toBeGreaterThan(0n);
    const { key, keyId } = await r.customer('1', { spendPerDayNanos: 2n * c });
    expect((await chat(r.gateways[0]!, key)).status).toBe(200);
    await eventually(
      () => spentIn(r.stores[1]!, `key:${keyId}`),
      (s) => s === c,
    );
    expect((await chat(r.gateways[1]!, key)).status).toBe(200);
    expect(
      await eventually(
        () => spentIn(r.stores[0]!, `key:${keyId}`),
        (s) => s === 2n * c,
      ),
    ).toBe(2n * c);
    const refused = await Promise.all([chat(r.gateways[0]!, key), chat(r.gateways[1]!, key)]);
    expect(refused.map((a) => a.status)).toEqual([429, 429]);
    const untilMidnight = Math.ceil((spendPeriodAt('day', Date.now()).endsAt - Date.now()) / 1000);
    expect(Math.abs(Number(refused[0]?.retryAfter) - untilMidnight)).toBeLessThanOrEqual(2);
  });
});
