import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { verifyLedger } from '../../db/queries/ledger-verify.ts';
import { walletBalance } from '../../db/queries/transfers.ts';
import { testRedisUrl } from '../helpers.ts';
import { chatAt, startCluster, waitFor, type Answer, type Cluster } from './processes.ts';

/** Two gateway processes on one PostgreSQL and one Redis: limits and credit stay exact across them. */

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ count: 2, redisUrl: testRedisUrl() });
}, 60_000);

afterAll(async () => {
  await cluster.close();
});

const replicaUrl = (i: number) => cluster.replicas[i % cluster.replicas.length]?.url ?? '';

function tally(answers: Answer[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const answer of answers) counts[answer.status] = (counts[answer.status] ?? 0) + 1;
  return counts;
}

async function openHolds(walletId: bigint): Promise<number> {
  const [row] = await cluster.sql<
    { open: number }[]
  >`select count(*)::int4 as open from holds where wallet_id = ${walletId.toString()}::int8 and outcome is null`;
  return row?.open ?? 0;
}

describe('two gateway processes', () => {
  test('a 60 rpm key admits exactly 60 of 300 simultaneous requests split across both; the rest are 429 with retry-after', async () => {
    const { key } = await cluster.customer('50', { requestsPerMinute: 60 });
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => chatAt(replicaUrl(i), key)));
    expect(tally(answers)).toEqual({ 200: 60, 429: 240 });
    expect(answers.filter((a) => a.status === 429).every((a) => Number(a.retryAfter) >= 1)).toBe(true);
    const admittedBy = [0, 1].map((r) => answers.filter((a, i) => a.status === 200 && i % 2 === r).length);
    console.log(`rate limit across processes: admitted ${admittedBy.join(' + ')} = 60 of 300`);
  }, 30_000);

  test('200 concurrent requests on a balance that covers 100 holds: exactly 100 succeed, the rest are 402, and no balance goes below zero', async () => {
    // The fake upstream answers after a pause, so every hold is placed before any is settled and
    // each request needs exactly the same hold: the balance is what decides, not timing.
    const body = { content: '[[fake:delay_ms=3000]] hello', maxTokens: 20 };
    const probe = await cluster.customer('1');
    const first = await chatAt(replicaUrl(0), probe.key, body);
    expect(first.status).toBe(200);
    const [hold] = await cluster.sql<
      { amount: bigint }[]
    >`select amount_nanos as amount from holds where wallet_id = ${probe.walletId.toString()}::int8`;
    const holdNanos = hold?.amount ?? 0n;
    expect(holdNanos).toBeGreaterThan(0n);

    const buyer = await cluster.customer(holdNanos * 100n);
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => chatAt(replicaUrl(i), buyer.key, body)));
    expect(tally(answers)).toEqual({ 200: 100, 402: 100 });
    expect(
      answers.filter((a) => a.status === 402).every((a) => JSON.parse(a.body).error.code === 'insufficient_quota'),
    ).toBe(true);
    expect(
      await waitFor(
        () => openHolds(buyer.walletId),
        (open) => open === 0,
        15_000,
      ),
    ).toBe(0);
    const balance = await walletBalance(cluster.sql, buyer.walletId);
    expect(
      (balance?.paidNanos ?? -1n) + (balance?.grantedNanos ?? 0n) - (balance?.heldNanos ?? 0n),
    ).toBeGreaterThanOrEqual(0n);
    expect((await verifyLedger(cluster.sql)).violations).toEqual([]);
  }, 30_000);
});
