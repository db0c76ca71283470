import { afterAll, beforeAll, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { formatUsd } from '../../core/money.ts';
import { verifyLedger } from '../../db/queries/ledger-verify.ts';
import { walletBalance } from '../../db/queries/transfers.ts';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream.ts';
import { addChannel, startFlaky, type Flaky } from './channels-harness.ts';
import { eventually, startHarness, type Harness } from './harness.ts';

/**
 * The concurrent burst of tests/gateway/concurrency.test.ts with two channels of one priority, one
 * of which fails half of its requests with 503: every failure fails over, the wallet never goes
 * below zero, each request is charged at most once and the ledger verifies clean.
 */

const REQUESTS = 120;
const AFFORDABLE = 60;
const CONTENT = 'burst [[fake:chunks=8,pause_ms=800]]';
let h: Harness;
let behind: FakeUpstream;
let flaky: Flaky;

beforeAll(async () => {
  // A high threshold keeps the breaker closed, so the flaky channel keeps failing half the time.
  h = await startHarness({ TOLLGATE_BREAKER_FAILURES: '10000' });
  behind = await startFakeUpstream();
  flaky = startFlaky(behind);
  await addChannel(h.sql, [h.gateway], 'flaky', { baseUrl: flaky.baseUrl, priority: 0, weight: 1 });
});
afterAll(async () => {
  await h.close();
  await flaky.close();
  await behind.close();
});

test('a burst over a channel failing half the time: failures fail over, no wallet below zero, ledger clean', async () => {
  const probe = await h.customer('1.00');
  const body = { model: 'fake/gpt-small', messages: [{ role: 'user' as const, content: CONTENT }], max_tokens: 8 };
  const pending = h.client(probe.key).chat.completions.create(body);
  const held = await eventually(
    () => walletBalance(h.sql, probe.account.walletId),
    (b) => (b?.heldNanos ?? 0n) > 0n,
  );
  const holdNanos = held?.heldNanos ?? 0n;
  await pending;
  const { key, account } = await h.customer(formatUsd(holdNanos * BigInt(AFFORDABLE)));
  const client = h.client(key);
  const one = async (i: number): Promise<'ok' | number> => {
    try {
      if (i % 2 === 0) {
        const stream = await client.chat.completions.create({ ...body, stream: true });
        for await (const chunk of stream) void chunk;
      } else await client.chat.completions.create(body);
      return 'ok';
    } catch (error) {
      return error instanceof OpenAI.APIError ? (error.status ?? -1) : -1;
    }
  };
  let lowest = holdNanos * BigInt(AFFORDABLE);
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const balance = await walletBalance(h.sql, account.walletId);
      if (balance && balance.availableNanos < lowest) lowest = balance.availableNanos;
      await Bun.sleep(10);
    }
  })();
  const results = await Promise.all(Array.from({ length: REQUESTS }, (_, i) => one(i)));
  watching = false;
  await watcher;
  expect(results.filter((r) => r === 'ok').length).toBe(AFFORDABLE);
  expect(results.filter((r) => r === 402).length).toBe(REQUESTS - AFFORDABLE);
  expect(flaky.failed).toBeGreaterThan(5);
  expect(lowest).toBeGreaterThanOrEqual(0n);
  const settled = await eventually(
    () => walletBalance(h.sql, account.walletId),
    (b) => b?.heldNanos === 0n,
    10_000,
  );
  expect(settled?.availableNanos).toBeGreaterThanOrEqual(0n);
  const [charged] = await h.sql<{ requests: number; usages: number; failovers: number }[]>`
    select count(*)::int as requests,
      (select count(*)::int from transfers t where t.kind = 'usage' and t.cause in
        (select id from requests where account_id = ${account.id}::uuid)) as usages,
      count(*) filter (where jsonb_array_length(attempts) > 1)::int as failovers
    from requests where account_id = ${account.id}::uuid and outcome = 'completed'`;
  expect(charged?.requests).toBe(AFFORDABLE);
  expect(charged?.usages).toBe(AFFORDABLE);
  expect(charged?.failovers).toBeGreaterThan(0);
  expect((await verifyLedger(h.sql)).violations).toEqual([]);
}, 60_000);
