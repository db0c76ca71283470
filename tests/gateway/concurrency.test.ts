import { afterAll, beforeAll, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { formatUsd } from '../../core/money.ts';
import { verifyLedger } from '../../db/queries/ledger-verify.ts';
import { walletBalance } from '../../db/queries/transfers.ts';
import { eventually, startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({}, { listen: false });
});
afterAll(async () => {
  await h.close();
});

const REQUESTS = 200;
const AFFORDABLE = 100;
// Every request lives at least this long upstream, so all holds are placed before any settles.
const CONTENT = 'same prompt for all [[fake:chunks=10,pause_ms=1500]]';

test('200 concurrent requests (half streamed) on a balance covering 100: exactly 100 succeed, never below zero', async () => {
  // Learn the exact hold of one request from a probe customer's ledger.
  const probe = await h.customer('1.00');
  const probeClient = h.client(probe.key);
  const pending = probeClient.chat.completions.create({
    model: 'fake/gpt-small',
    messages: [{ role: 'user', content: CONTENT }],
    max_tokens: 10,
  });
  const held = await eventually(
    () => walletBalance(h.sql, probe.account.walletId),
    (b) => (b?.heldNanos ?? 0n) > 0n,
  );
  const holdNanos = held?.heldNanos ?? 0n;
  await pending;
  expect(holdNanos).toBeGreaterThan(0n);

  const { key, account } = await h.customer(formatUsd(holdNanos * BigInt(AFFORDABLE)));
  const client = h.client(key);
  const one = async (i: number): Promise<'ok' | number> => {
    const body = { model: 'fake/gpt-small', messages: [{ role: 'user' as const, content: CONTENT }], max_tokens: 10 };
    try {
      if (i % 2 === 0) {
        const stream = await client.chat.completions.create({ ...body, stream: true });
        for await (const chunk of stream) void chunk;
      } else {
        await client.chat.completions.create(body);
      }
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
  expect(lowest).toBeGreaterThanOrEqual(0n);
  const settled = await eventually(
    () => walletBalance(h.sql, account.walletId),
    (b) => b?.heldNanos === 0n,
    10_000,
  );
  expect(settled?.availableNanos).toBeGreaterThanOrEqual(0n);
  expect((await verifyLedger(h.sql)).violations).toEqual([]);
}, 60_000);
