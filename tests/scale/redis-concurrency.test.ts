import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import Redis from 'ioredis';
import { createLogger } from '../../app/log.ts';
import { connectRedis } from '../../app/redis.ts';
import { createRedisLimitStore } from '../../limits/redis-store.ts';
import { testRedisUrl } from '../helpers.ts';
import { chat, startReplicas, type Replicas } from './replicas.ts';

/** Concurrency slots in Redis under parallel acquires and releases (issue 18, item 3). */

const SLOT_PREFIX = 'tg:limit:concurrency:key:';
const CLIENTS = 8;
const REQUESTS_PER_CLIENT = 30;
const LIMIT = 50;

describe('Redis concurrency slots', () => {
  let r: Replicas;
  let redis: Redis;
  beforeAll(async () => {
    r = await startReplicas(1, testRedisUrl());
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    redis.disconnect();
    await r.close();
  });

  test('8 clients × 30 requests under a limit of 50 are never refused, and no slot is left afterwards', async () => {
    const { key, keyId } = await r.customer('50', { concurrentRequests: LIMIT });
    const gateway = r.gateways[0];
    if (!gateway) throw new Error('no replica');
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (let i = 0; i < REQUESTS_PER_CLIENT; i++) statuses.push((await chat(gateway, key)).status);
      }),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(statuses.length).toBe(CLIENTS * REQUESTS_PER_CLIENT);
    // Settlement (and so the release) runs just after each response ends.
    const deadline = Date.now() + 5_000;
    let left = await redis.zcard(SLOT_PREFIX + keyId);
    while (left > 0 && Date.now() < deadline) {
      await Bun.sleep(25);
      left = await redis.zcard(SLOT_PREFIX + keyId);
    }
    expect(left).toBe(0);
  });

  test('simultaneous acquires and releases of one key in one store leave no lease behind', async () => {
    const client = connectRedis(
      testRedisUrl(),
      createLogger('error', () => {}),
    );
    const store = createRedisLimitStore(
      client,
      createLogger('error', () => {}),
      1,
    );
    await new Promise<void>((resolve) => (client.status === 'ready' ? resolve() : client.once('ready', resolve)));
    try {
      const key = `concurrency:key:${crypto.randomUUID()}`;
      const holders = Array.from({ length: 40 }, () => crypto.randomUUID());
      const granted = await Promise.all(holders.map((holder) => store.acquire(key, 30, holder)));
      expect(granted.filter(Boolean).length).toBe(30);
      expect(await redis.zcard(`tg:limit:${key}`)).toBe(30);
      await Promise.all(holders.map((holder) => store.release(key, holder)));
      expect(await redis.zcard(`tg:limit:${key}`)).toBe(0);
      expect(await store.acquire(key, 30, 'after')).toBe(true);
    } finally {
      store.stop();
      client.disconnect();
    }
  });
});
