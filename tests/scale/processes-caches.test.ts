import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { revokeApiKey } from '../../db/queries/api-keys.ts';
import { setPricingRule } from '../../db/queries/pricing.ts';
import { upsertPolicy } from '../../db/queries/rate-limit-policies.ts';
import { testRedisUrl } from '../helpers.ts';
import { chatAt, startCluster, waitFor, type Answer, type Cluster } from './processes.ts';

/**
 * What one replica changes, every other replica honours within 2 s (issue #5). The mechanism is
 * short cache lives (keys, rate-limit policies and tenant prices, 1.5 s each), so each test warms
 * the other replica's caches first and then times how long it keeps the old answer.
 */

const PROPAGATION_LIMIT_MS = 2_000;
const POLL_TIMEOUT_MS = 5_000;
const POLL_MS = 25;

let cluster: Cluster;
const first = () => cluster.replicas[0]?.url ?? '';
const other = () => cluster.replicas[1]?.url ?? '';

beforeAll(async () => {
  cluster = await startCluster({ count: 2, redisUrl: testRedisUrl() });
}, 60_000);

afterAll(async () => {
  await cluster.close();
});

/** Both replicas have served the key, so each holds it (and its policy and prices) in cache. */
async function warm(key: string): Promise<void> {
  expect((await chatAt(first(), key)).status).toBe(200);
  expect((await chatAt(other(), key)).status).toBe(200);
}

/** Polls the other replica until the change shows; returns the answer and the time it took. */
async function timeUntil(
  change: () => Promise<unknown>,
  key: string,
  shows: (answer: Answer) => boolean,
): Promise<{ answer: Answer; elapsedMs: number }> {
  await change();
  const changedAt = performance.now();
  const answer = await waitFor(() => chatAt(other(), key), shows, POLL_TIMEOUT_MS, POLL_MS);
  return { answer, elapsedMs: performance.now() - changedAt };
}

const customerCost = (answer: Answer) => (JSON.parse(answer.body) as { usage?: { cost?: number } }).usage?.cost;

describe('changes reach the other replica', () => {
  test('a revoked key is refused by the other replica within 2 s', async () => {
    const { key, keyId } = await cluster.customer('5');
    await warm(key);
    const { answer, elapsedMs } = await timeUntil(
      () => revokeApiKey(cluster.sql, keyId),
      key,
      (a) => a.status !== 200,
    );
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body).error.code).toBe('revoked_api_key');
    expect(elapsedMs).toBeLessThan(PROPAGATION_LIMIT_MS);
    console.log(`revoked key refused by the other replica after ${elapsedMs.toFixed(0)} ms`);
  }, 20_000);

  test('a new rate-limit policy is enforced by the other replica within 2 s', async () => {
    const { key, keyId } = await cluster.customer('5');
    await warm(key);
    const policy = {
      requestsPerMinute: 1,
      requestsPerHour: null,
      tokensPerMinute: null,
      concurrentRequests: null,
      spendPerDayNanos: null,
      spendPerMonthNanos: null,
    };
    const { answer, elapsedMs } = await timeUntil(
      () => upsertPolicy(cluster.sql, { kind: 'apiKey', id: keyId }, policy),
      key,
      (a) => a.status === 429,
    );
    expect(answer.status).toBe(429);
    expect(elapsedMs).toBeLessThan(PROPAGATION_LIMIT_MS);
    console.log(`new policy enforced by the other replica after ${elapsedMs.toFixed(0)} ms`);
  }, 20_000);

  test('a changed price is charged by the other replica within 2 s', async () => {
    const { key } = await cluster.customer('5');
    await warm(key);
    const before = customerCost(await chatAt(other(), key));
    expect(before).toBeGreaterThan(0);
    const doubled = { pattern: 'fake/gpt-small', markupBps: 10_000, priority: 10 };
    const { answer, elapsedMs } = await timeUntil(
      () => setPricingRule(cluster.sql, cluster.rootTenantId, doubled),
      key,
      (a) => customerCost(a) !== before,
    );
    expect(customerCost(answer)).toBeGreaterThan(before ?? 0);
    expect(elapsedMs).toBeLessThan(PROPAGATION_LIMIT_MS);
    console.log(`new price charged by the other replica after ${elapsedMs.toFixed(0)} ms`);
  }, 20_000);
});
