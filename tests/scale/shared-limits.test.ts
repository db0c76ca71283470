import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { testRedisUrl } from '../helpers.ts';
import { dedicatedRedis, type TestRedis } from './redis-server.ts';
import { chat, startReplicas, type Replicas } from './replicas.ts';

describe('two replicas sharing Redis', () => {
  let r: Replicas;
  beforeAll(async () => {
    r = await startReplicas(2, testRedisUrl() ?? '');
  });
  afterAll(async () => {
    await r.close();
  });

  test('a 60 rpm key admits exactly 60 of 300 simultaneous requests split across both; the rest are 429 with retry-after', async () => {
    const { key } = await r.customer('50', { requestsPerMinute: 60 });
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) => chat(r.gateways[i % 2] ?? r.gateways[0]!, key)),
    );
    const statuses = new Map<number, number>();
    for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    expect(Object.fromEntries(statuses)).toEqual({ 200: 60, 429: 240 });
    expect(answers.filter((a) => a.status === 429).every((a) => Number(a.retryAfter) >= 1)).toBe(true);
    const admittedBy = [0, 1].map((g) => answers.filter((a, i) => a.status === 200 && i % 2 === g).length);
    expect(admittedBy[0]! + admittedBy[1]!).toBe(60);
  });
});

describe('two replicas when Redis dies under load', () => {
  let redis: TestRedis;
  let r: Replicas;
  beforeAll(async () => {
    redis = await dedicatedRedis();
    r = await startReplicas(2, redis.url);
  });
  afterAll(async () => {
    await r.close();
    await redis.kill();
  });

  test('no 5xx, no request waits a second, limits stay bounded, and shared counting resumes after restart', async () => {
    const { key } = await r.customer('50', { requestsPerMinute: 60 });
    const wave = (n: number) =>
      Promise.all(Array.from({ length: n }, (_, i) => chat(r.gateways[i % 2] ?? r.gateways[0]!, key)));
    const first = wave(100);
    await Bun.sleep(5);
    await redis.kill();
    const second = await wave(100);
    const all = [...(await first), ...second];
    expect(all.filter((a) => a.status >= 500)).toEqual([]);
    const slowest = Math.max(...all.map((a) => a.elapsedMs));
    expect(slowest).toBeLessThan(1_000);
    // Each replica keeps half of the limit while on its own: at most 60 + 2 × 30 in the worst case.
    const admitted = all.filter((a) => a.status === 200).length;
    expect(admitted).toBeGreaterThanOrEqual(60);
    expect(admitted).toBeLessThanOrEqual(120);
    expect(r.stores.every((s) => !s.shared)).toBe(true);
    await redis.start();
    const deadline = Date.now() + 5_000;
    while (r.stores.some((s) => !s.shared) && Date.now() < deadline) await Bun.sleep(50);
    expect(r.stores.every((s) => s.shared)).toBe(true);
    const { key: fresh } = await r.customer('50', { requestsPerMinute: 60 });
    const after = await Promise.all(
      Array.from({ length: 200 }, (_, i) => chat(r.gateways[i % 2] ?? r.gateways[0]!, fresh)),
    );
    expect(after.filter((a) => a.status === 200).length).toBe(60);
    console.log(
      `redis outage: ${admitted} of 200 admitted (limit 60, 2 replicas), slowest answer ${slowest.toFixed(0)} ms`,
    );
  });
});
