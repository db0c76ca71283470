import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type OpenAI from 'openai';
import { verifyLedger } from '../../db/queries/ledger-verify.ts';
import { walletBalance } from '../../db/queries/transfers.ts';
import { createMetrics } from '../../gateway/metrics.ts';
import { eventually, startHarness, type Harness } from './harness.ts';

/**
 * Holds that are true bounds (issue 17): every price component, the dearest provider, the output
 * limits the upstream receives; and reports no request could produce are settled by the estimate.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

type Held = { amount: bigint; charged: bigint | null; writtenOff: bigint | null; price: bigint; distrusted: boolean };

/** The customer leg of a settled request: what was held, charged and written off, and its exact price. */
async function settledRequest(walletId: bigint): Promise<Held[]> {
  await eventually(
    () => walletBalance(h.sql, walletId),
    (b) => b?.heldNanos === 0n,
    20_000,
  );
  const rows = await h.sql<
    { amount: bigint; charged: bigint | null; written_off: bigint | null; price: bigint; distrusted: boolean }[]
  >`
    select h.amount_nanos as amount, h.charged_nanos as charged, h.written_off_nanos as written_off,
      r.charge_nanos as price, r.usage_distrusted as distrusted
    from holds h join requests r on r.id = h.request_id
    where h.wallet_id = ${walletId.toString()}::int8 order by h.id`;
  return rows.map((r) => ({
    amount: r.amount,
    charged: r.charged,
    writtenOff: r.written_off,
    price: r.price,
    distrusted: r.distrusted,
  }));
}

const lastUpstreamBody = () =>
  h.upstream.requests.findLast((r) => r.method === 'POST')?.body as Record<string, unknown>;

describe('a hold', () => {
  test('covers web search results and prompt-cache writes at their catalog prices: nothing is written off', async () => {
    const { key, account } = await h.customer('1.00');
    const cached = { type: 'text' as const, text: 'a long system prompt', cache_control: { type: 'ephemeral' } };
    await h.client(key).chat.completions.create({
      model: 'fake/search-cache',
      messages: [{ role: 'user', content: [cached] as unknown as string }],
      max_tokens: 20,
      plugins: [{ id: 'web', max_results: 3 }],
    } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
    const [held] = await settledRequest(account.walletId);
    // Three results at $0.01 are 3 cents of cost: the price is above them, and the hold above the price.
    expect(held?.price).toBeGreaterThan(30_000_000n);
    expect(held?.writtenOff).toBe(0n);
    expect(held?.amount).toBeGreaterThanOrEqual(held?.price ?? 0n);
  });

  test('covers the dearest provider of a model, three times its listed price, and narrows to the providers allowed', async () => {
    const { key, account } = await h.customer('1.00');
    const client = h.client(key);
    const body = {
      model: 'fake/two-providers',
      messages: [{ role: 'user' as const, content: 'hello' }],
      max_tokens: 20,
    };
    await client.chat.completions.create(body);
    await client.chat.completions.create({ ...body, provider: { only: ['cheap'] } } as typeof body);
    const [dear, cheap] = await settledRequest(account.walletId);
    expect(dear?.writtenOff).toBe(0n);
    expect(dear?.amount).toBeGreaterThanOrEqual(dear?.price ?? 0n);
    expect(cheap?.writtenOff).toBe(0n);
    expect(cheap?.amount).toBeGreaterThanOrEqual(cheap?.price ?? 0n);
    expect((dear?.price ?? 0n) > (cheap?.price ?? 0n) * 2n).toBe(true);
    expect((cheap?.amount ?? 0n) < (dear?.amount ?? 0n)).toBe(true);
  });

  test('with max_completion_tokens and max_tokens that disagree is held for the smaller, and the upstream receives it', async () => {
    const { key } = await h.customer('1.00');
    await h.client(key).chat.completions.create({
      model: 'fake/gpt-small',
      messages: [{ role: 'user', content: 'one token please' }],
      max_completion_tokens: 1,
      max_tokens: 100_000,
    });
    expect(lastUpstreamBody()).toMatchObject({ max_completion_tokens: 1, max_tokens: 1 });
  });

  test('covers a reasoning budget outside max_tokens, and a shrunk budget is what the upstream receives', async () => {
    const { key } = await h.customer('0.0001');
    await h.client(key).chat.completions.create({
      model: 'fake/gpt-small',
      messages: [{ role: 'user', content: 'think' }],
      max_tokens: 100,
      reasoning: { max_tokens: 100_000 },
    } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
    const sent = lastUpstreamBody() as { max_tokens: number; reasoning: { max_tokens: number } };
    // $0.0001 at 20% markup buys 41 output tokens at $0.000002 after the prompt: far below 100 + 100,000.
    expect(sent.max_tokens + sent.reasoning.max_tokens).toBeLessThan(100);
    expect(sent.max_tokens).toBeGreaterThanOrEqual(1);
  });
});

describe('a report no request could produce', () => {
  test('an absurd cost keeps the wallet and the key cap within their credit; requests are flagged and estimated', async () => {
    const { key, account, keyId } = await h.customer('0.05', { creditCapNanos: 1_000_000n });
    const client = h.client(key);
    const ask = () =>
      client.chat.completions
        .create({ model: 'fake/cheap', messages: [{ role: 'user', content: 'hi [[fake:cost_usd=999999]]' }] })
        .then(
          (answer) => answer,
          () => undefined,
        );
    const answers = await Promise.all(Array.from({ length: 50 }, ask));
    const served = answers.filter((a) => a !== undefined);
    expect(served.length).toBeGreaterThan(0);
    for (const answer of served) expect((answer.usage as { cost?: number }).cost ?? 0).toBeLessThan(0.001);
    const held = await settledRequest(account.walletId);
    expect(held.filter((r) => r.charged !== null).every((r) => r.distrusted && r.writtenOff === 0n)).toBe(true);
    expect((await walletBalance(h.sql, account.walletId))?.availableNanos).toBeGreaterThanOrEqual(0n);
    const [cap] = await h.sql<{ spent: bigint }[]>`select spent_nanos as spent from api_keys where id = ${keyId}::uuid`;
    expect(cap?.spent).toBeLessThanOrEqual(1_000_000n);
    expect((await verifyLedger(h.sql)).violations).toEqual([]);
    const metrics = await createMetrics({ sql: h.sql, log: h.gateway.services.log }).render();
    expect(Number(/^tollgate_usage_distrusted_requests (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(
      served.length,
    );
  }, 60_000);

  test('negative usage is flagged and settled by the estimate of what was delivered', async () => {
    const { key, account } = await h.customer('1.00');
    const stream = await h.client(key).chat.completions.create({
      model: 'fake/cheap',
      messages: [{ role: 'user', content: 'hi [[fake:negative_usage]]' }],
      stream: true,
    });
    for await (const chunk of stream) void chunk;
    const [held] = await settledRequest(account.walletId);
    expect(held?.distrusted).toBe(true);
    expect(held?.price).toBeGreaterThan(0n);
    const [row] = await h.sql<{ estimated: boolean; completion: number }[]>`
      select estimated, completion_tokens as completion from requests where account_id = ${account.id}::uuid`;
    expect(row?.estimated).toBe(true);
    expect(row?.completion).toBeGreaterThanOrEqual(5);
  });
});
