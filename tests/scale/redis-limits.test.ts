import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type Redis from 'ioredis';
import { createLogger } from '../../app/log.ts';
import { createRedisLimitStore, localShare, type RedisLimitStore } from '../../limits/redis-store.ts';
import { connectRedis } from '../../app/redis.ts';
import { spendPeriodAt } from '../../limits/store.ts';
import { testRedisUrl } from '../helpers.ts';
import { dedicatedRedis, type TestRedis } from './redis-server.ts';

const lines: string[] = [];
const log = createLogger('info', (line) => lines.push(line));
const unique = () => crypto.randomUUID();

let clients: Redis[] = [];
let stores: RedisLimitStore[] = [];
function replica(url: string, replicas = 2): RedisLimitStore {
  const client = connectRedis(url, log);
  const store = createRedisLimitStore(client, log, replicas);
  clients.push(client);
  stores.push(store);
  return store;
}
const ready = (client: Redis) =>
  new Promise<void>((resolve) => (client.status === 'ready' ? resolve() : client.once('ready', () => resolve())));

afterAll(() => {
  for (const store of stores) store.stop();
  for (const client of clients) client.disconnect();
  stores = [];
  clients = [];
});

describe('the Redis limit store', () => {
  let url: string;
  beforeAll(async () => {
    url = testRedisUrl() ?? '';
    expect(url).not.toBe('');
  });

  test('two replicas share one sliding window exactly', async () => {
    const a = replica(url);
    const b = replica(url);
    await Promise.all(clients.slice(-2).map(ready));
    const key = `rpm:key:${unique()}`;
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        (i % 2 ? a : b).consume([{ key, limit: 30, windowMs: 60_000, cost: 1 }]).then((r) => r.windows),
      ),
    );
    expect(results.filter(([r]) => r?.allowed).length).toBe(30);
    const refused = results.find(([r]) => !r?.allowed)?.[0];
    expect(refused?.retryAfterMs).toBeGreaterThan(50_000);
  });

  test('a request is recorded in no window unless every window allows it', async () => {
    const store = replica(url);
    await ready(clients.at(-1) as Redis);
    const wide = `rph:key:${unique()}`;
    const narrow = `rpm:key:${unique()}`;
    const both = () =>
      store.consume([
        { key: wide, limit: 10, windowMs: 3_600_000, cost: 1 },
        { key: narrow, limit: 2, windowMs: 60_000, cost: 1 },
      ]);
    for (let i = 0; i < 5; i++) await both();
    const [hour] = (await store.consume([{ key: wide, limit: 10, windowMs: 3_600_000, cost: 1, record: false }]))
      .windows;
    expect(hour?.remaining).toBe(10 - 2 - 1);
  });

  test('recorded token usage counts against a later check and expires with its window', async () => {
    const store = replica(url);
    await ready(clients.at(-1) as Redis);
    const key = `tpm:key:${unique()}`;
    await store.record(key, 300, 900);
    expect(
      (await store.consume([{ key, limit: 1_000, windowMs: 300, cost: 200, record: false }])).windows[0]?.allowed,
    ).toBe(false);
    await Bun.sleep(350);
    expect(
      (await store.consume([{ key, limit: 1_000, windowMs: 300, cost: 200, record: false }])).windows[0]?.allowed,
    ).toBe(true);
  });

  test('a spending counter is raised to its seed in the current period only, and never lowered', async () => {
    const store = replica(url);
    await ready(clients.at(-1) as Redis);
    const window = { key: `key:${unique()}`, period: 'day' as const };
    const spent = async () => (await store.consume([], [{ ...window, limitNanos: 1n << 62n }])).spends[0]?.spentNanos;
    const { index } = spendPeriodAt('day', Date.now());
    await store.seedSpend(window, index - 1, 9_000n);
    expect(await spent()).toBe(0n);
    await store.seedSpend(window, index, 12_345_678_901_234n);
    expect(await spent()).toBe(12_345_678_901_234n);
    await store.recordSpend([window], 5n);
    await store.seedSpend(window, index, 12_345_678_901_234n);
    expect(await spent()).toBe(12_345_678_901_239n);
  });

  test('concurrency slots are shared and released', async () => {
    const a = replica(url);
    const b = replica(url);
    await Promise.all(clients.slice(-2).map(ready));
    const key = `concurrency:key:${unique()}`;
    expect(await a.acquire(key, 2, 'r1')).toBe(true);
    expect(await b.acquire(key, 2, 'r2')).toBe(true);
    expect(await a.acquire(key, 2, 'r3')).toBe(false);
    await b.release(key, 'r2');
    expect(await a.acquire(key, 2, 'r3')).toBe(true);
  });

  test('the local share divides every limit between the replicas, never below one', () => {
    expect(localShare(60, 2)).toBe(30);
    expect(localShare(61, 2)).toBe(30);
    expect(localShare(1, 4)).toBe(1);
  });
});

describe('a Redis outage', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await dedicatedRedis();
  });
  afterAll(async () => {
    await redis.kill();
  });

  test('falls back to the local share without waiting, logs once each way, and resumes sharing', async () => {
    const before = lines.length;
    const store = replica(redis.url, 2);
    await ready(clients.at(-1) as Redis);
    const key = `rpm:key:${unique()}`;
    const check = [{ key, limit: 10, windowMs: 60_000, cost: 1 }];
    for (let i = 0; i < 4; i++) expect((await store.consume(check)).windows[0]?.allowed).toBe(true);
    await redis.kill();
    const started = performance.now();
    const during = await Promise.all(Array.from({ length: 20 }, () => store.consume(check).then((r) => r.windows)));
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(store.shared).toBe(false);
    expect(during.filter(([r]) => r?.allowed).length).toBe(5);
    await redis.start();
    const deadline = Date.now() + 5_000;
    while (!store.shared && Date.now() < deadline) await Bun.sleep(50);
    expect(store.shared).toBe(true);
    // A fresh Redis has no memory of the window: shared counting starts again from the full limit.
    const after = await Promise.all(Array.from({ length: 15 }, () => store.consume(check).then((r) => r.windows)));
    expect(after.filter(([r]) => r?.allowed).length).toBe(10);
    const mine = lines.slice(before).map((line) => JSON.parse(line) as { message: string });
    expect(mine.filter((l) => l.message.startsWith('redis unreachable')).length).toBe(1);
    expect(mine.filter((l) => l.message.startsWith('redis reachable again')).length).toBe(1);
  });
});
