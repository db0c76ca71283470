import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import OpenAI, { type APIError } from 'openai';
import { FEMTOS_PER_NANO, usdPerTokenToNanosPerMtok } from '../../core/money.ts';
import { ceilDiv, priceNanos } from '../../core/pricing.ts';
import { walletBalance } from '../../db/queries/transfers.ts';
import { verifyLedger } from '../../db/queries/ledger-verify.ts';
import { fakePromptTokens } from '../fake-upstream.ts';
import { eventually, startHarness, UPSTREAM_KEY, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({}, { listen: false });
});
afterAll(async () => {
  await h.close();
});

const SMALL = {
  prompt: usdPerTokenToNanosPerMtok('0.000001') ?? 0n,
  completion: usdPerTokenToNanosPerMtok('0.000002') ?? 0n,
};
/** The customer's price for a fake/gpt-small request at the root's default 20% markup. */
const smallCharge = (promptTokens: number, completionTokens: number) =>
  priceNanos(BigInt(promptTokens) * SMALL.prompt + BigInt(completionTokens) * SMALL.completion, [2000]);

async function requestRow(requestId: string) {
  const rows = await eventually(
    () =>
      h.sql<
        {
          outcome: string;
          charge_nanos: bigint;
          prompt_tokens: number;
          completion_tokens: number;
          estimated: boolean;
          cost_nanos: bigint;
        }[]
      >`select * from requests where id = ${requestId}`,
    (r) => r.length === 1,
  );
  return rows[0];
}

async function openHolds(): Promise<number> {
  const [row] = await h.sql<{ n: number }[]>`select count(*)::int as n from holds where outcome is null`;
  return row?.n ?? -1;
}

describe('chat completions through the official SDK', () => {
  test('a plain completion returns the upstream text and charges the exact marked-up price', async () => {
    const { key, account } = await h.customer('1.00');
    const messages = [{ role: 'user' as const, content: 'Say hello' }];
    const raw = await h.client(key).chat.completions.create({ model: 'fake/gpt-small', messages }).withResponse();
    const completion = raw.data;
    expect(completion.choices[0]?.message.content).toBe('tok0 tok1 tok2 tok3 tok4 ');
    const promptTokens = fakePromptTokens({ messages });
    expect(completion.usage?.prompt_tokens).toBe(promptTokens);
    const charge = smallCharge(promptTokens, 5);
    expect((completion.usage as unknown as { cost: number }).cost).toBe(Number(charge) / 1e9);
    const requestId = raw.response.headers.get('x-request-id') ?? '';
    const row = await requestRow(requestId);
    expect(row?.charge_nanos).toBe(charge);
    expect(row?.outcome).toBe('completed');
    const balance = await eventually(
      () => walletBalance(h.sql, account.walletId),
      (b) => b?.heldNanos === 0n,
    );
    expect(balance?.availableNanos).toBe(1_000_000_000n - charge);
  });

  test('the upstream receives the upstream key, never the customer key, and a usage request', async () => {
    const { key } = await h.customer('1.00');
    await h
      .client(key)
      .chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'check headers' }] });
    const seen = h.upstream.requests.at(-1);
    expect(seen?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(JSON.stringify(seen)).not.toContain(key);
  });

  test('a streamed completion arrives incrementally and byte-identical, and is charged from the usage chunk', async () => {
    const { key } = await h.customer('1.00');
    const messages = [{ role: 'user' as const, content: 'stream please [[fake:chunks=6,delay_ms=30]]' }];
    const stream = await h.client(key).chat.completions.create({
      model: 'fake/gpt-small',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const arrivals: number[] = [];
    let text = '';
    let usage: (OpenAI.CompletionUsage & { cost?: number }) | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta.content;
      if (delta) {
        text += delta;
        arrivals.push(performance.now());
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('tok0 tok1 tok2 tok3 tok4 tok5 ');
    expect((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThan(100);
    expect(usage?.completion_tokens).toBe(6);
    expect(usage?.cost).toBe(Number(smallCharge(fakePromptTokens({ messages }), 6)) / 1e9);
  });

  test('a stream without include_usage gets no usage chunk but is still charged', async () => {
    const { key, account } = await h.customer('1.00');
    const stream = await h
      .client(key)
      .chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let sawUsage = false;
    for await (const chunk of stream) if (chunk.usage) sawUsage = true;
    expect(sawUsage).toBe(false);
    const balance = await eventually(
      () => walletBalance(h.sql, account.walletId),
      (b) => (b?.availableNanos ?? 0n) < 1_000_000_000n && b?.heldNanos === 0n,
    );
    expect(balance?.availableNanos).toBe(
      1_000_000_000n - smallCharge(fakePromptTokens({ messages: [{ role: 'user', content: 'hi' }] }), 5),
    );
  });

  test('a stream is complete at [DONE], even when the upstream keeps its body open after it', async () => {
    const { key } = await h.customer('1.00');
    const messages = [{ role: 'user' as const, content: 'done early [[fake:chunks=3,delay_ms=10,linger_ms=3000]]' }];
    const started = performance.now();
    const { data: stream, response } = await h
      .client(key)
      .chat.completions.create({ model: 'fake/gpt-small', messages, stream: true })
      .withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('tok0 tok1 tok2 ');
    expect(performance.now() - started).toBeLessThan(1_500);
    // The SDK stops reading at [DONE]; that is not the client going away.
    const row = await requestRow(response.headers.get('x-request-id') ?? '');
    expect(row?.outcome).toBe('completed');
    expect(row?.charge_nanos).toBe(smallCharge(fakePromptTokens({ messages }), 3));
  });

  test('tool calls pass through', async () => {
    const { key } = await h.customer('1.00');
    const completion = await h.client(key).chat.completions.create({
      model: 'fake/gpt-small',
      messages: [{ role: 'user', content: 'weather? [[fake:tool_call]]' }],
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
        },
      ],
    });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' ? call.function.name : undefined).toBe('get_weather');
    expect(call?.type === 'function' ? JSON.parse(call.function.arguments) : undefined).toEqual({ city: 'Paris' });
  });

  test('legacy completions and embeddings work and are charged', async () => {
    const { key, account } = await h.customer('1.00');
    const client = h.client(key);
    const completion = await client.completions.create({ model: 'fake/gpt-small', prompt: 'Once upon a time' });
    expect(completion.choices[0]?.text).toBe('tok0 tok1 tok2 tok3 tok4 ');
    const embedding = await client.embeddings.create({ model: 'fake/embed', input: ['a', 'b'] });
    expect(embedding.data).toHaveLength(2);
    expect(embedding.data[0]?.embedding).toHaveLength(8);
    const rows = await eventually(
      () => h.sql<{ charge_nanos: bigint }[]>`select charge_nanos from requests where account_id = ${account.id}::uuid`,
      (r) => r.length === 2,
    );
    expect(rows.every((r) => r.charge_nanos > 0n)).toBe(true);
  });

  test("the model list shows the caller's marked-up prices", async () => {
    const { key } = await h.customer('0');
    const list = await h.client(key).models.list();
    const small = list.data.find((m) => m.id === 'fake/gpt-small') as unknown as {
      pricing: { prompt: string; completion: string };
    };
    expect(small.pricing.prompt).toBe('0.0000012');
    expect(small.pricing.completion).toBe('0.0000024');
    const one = await h.client(key).models.retrieve('fake/cheap');
    expect(one.id).toBe('fake/cheap');
    // 0.0000000375 × 1.2 = 0.000000045 exactly.
    expect((one as unknown as { pricing: { prompt: string } }).pricing.prompt).toBe('0.000000045');
    // What a model takes and gives passes through as the catalog says it, and only then.
    type Architecture = { architecture?: { input_modalities: string[]; output_modalities: string[] } };
    const large = (await h.client(key).models.retrieve('fake/gpt-large')) as unknown as Architecture;
    expect(large.architecture).toEqual({ input_modalities: ['text', 'image', 'file'], output_modalities: ['text'] });
    expect((one as unknown as Architecture).architecture).toBeUndefined();
  });

  test('a model id sent with its slash unencoded, as curl users do, finds the same model', async () => {
    for (const path of ['/v1/models/fake/cheap', '/v1/models/fake%2Fcheap']) {
      const response = await h.req(path);
      expect(response.status).toBe(200);
      expect(((await response.json()) as { id: string }).id).toBe('fake/cheap');
    }
    const unknown = await h.req('/v1/models/fake/no-such-model');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('model_not_found');
  });

  test('max_tokens is lowered to what the balance can afford', async () => {
    const messages = [{ role: 'user' as const, content: 'x' }];
    const boundTokens = 1 + 8 + 16;
    // Enough for the prompt bound plus exactly 10 output tokens at the marked-up price.
    const affordable = priceNanos(BigInt(boundTokens) * SMALL.prompt + 10n * SMALL.completion, [2000]);
    const usd = (Number(affordable) / 1e9).toFixed(9);
    const { key } = await h.customer(usd);
    await h.client(key).chat.completions.create({ model: 'fake/gpt-small', messages, max_tokens: 500 });
    const sent = h.upstream.requests.at(-1)?.body as { max_tokens?: number };
    expect(sent.max_tokens).toBe(10);
  });
});

describe('settlement of failures', () => {
  test('an upstream 500 before the first byte voids the hold and maps to a 502 without upstream secrets', async () => {
    const { key, account } = await h.customer('1.00');
    const error = await h
      .client(key)
      .chat.completions.create({
        model: 'fake/gpt-small',
        messages: [{ role: 'user', content: '[[fake:status=500]]' }],
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as APIError).status).toBe(502);
    expect(JSON.stringify((error as APIError).error)).not.toContain('sk-upstream-SECRET');
    const balance = await eventually(
      () => walletBalance(h.sql, account.walletId),
      (b) => b?.heldNanos === 0n,
    );
    expect(balance?.availableNanos).toBe(1_000_000_000n);
  });

  test('a client abort after 3 chunks aborts the upstream and settles from the generation record', async () => {
    const { key, account } = await h.customer('1.00');
    const controller = new AbortController();
    const messages = [{ role: 'user' as const, content: 'long [[fake:chunks=50,delay_ms=40]]' }];
    const stream = await h
      .client(key)
      .chat.completions.create({ model: 'fake/gpt-small', messages, stream: true }, { signal: controller.signal });
    let received = 0;
    try {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) received += 1;
        if (received === 3) controller.abort();
      }
    } catch {
      // The SDK throws an abort error: that is the point.
    }
    const rows = await eventually(
      () =>
        h.sql<
          { outcome: string; charge_nanos: bigint; completion_tokens: number; estimated: boolean }[]
        >`select * from requests where account_id = ${account.id}::uuid`,
      (r) => r.length === 1,
    );
    expect(rows[0]?.outcome).toBe('aborted');
    expect(rows[0]?.completion_tokens).toBeGreaterThanOrEqual(3);
    expect(rows[0]?.completion_tokens).toBeLessThan(50);
    expect(rows[0]?.charge_nanos).toBeGreaterThan(0n);
    expect(rows[0]?.estimated).toBe(false);
    await eventually(
      async () => h.upstream.aborted,
      (n) => n > 0,
    );
    expect(h.upstream.aborted).toBeGreaterThan(0);
  });

  test('an upstream cut mid-stream ends the stream with an error event and charges what was delivered', async () => {
    const { key, account } = await h.customer('1.00');
    const stream = await h.client(key).chat.completions.create({
      model: 'fake/gpt-small',
      messages: [{ role: 'user', content: '[[fake:chunks=20,cut_after=4]]' }],
      stream: true,
    });
    let text = '';
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(text).toBe('tok0 tok1 tok2 tok3 ');
    expect(error).toBeInstanceOf(Error);
    const rows = await eventually(
      () =>
        h.sql<
          { outcome: string; charge_nanos: bigint; completion_tokens: number }[]
        >`select * from requests where account_id = ${account.id}::uuid`,
      (r) => r.length === 1,
    );
    expect(rows[0]?.outcome).toBe('failed');
    expect(rows[0]?.completion_tokens).toBe(4);
    expect(rows[0]?.charge_nanos).toBeGreaterThan(0n);
  });

  test('an upstream that never answers is aborted when the client gives up, and the hold is voided', async () => {
    const { key, account } = await h.customer('1.00');
    const error = await h
      .client(key)
      .chat.completions.create(
        { model: 'fake/gpt-small', messages: [{ role: 'user', content: '[[fake:hang]]' }] },
        { timeout: 500 },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    const balance = await eventually(
      () => walletBalance(h.sql, account.walletId),
      (b) => b?.heldNanos === 0n,
    );
    expect(balance?.heldNanos).toBe(0n);
    expect(balance?.availableNanos).toBe(1_000_000_000n);
  });

  test('no hold is left open and the ledger verifies clean', async () => {
    expect(await eventually(openHolds, (n) => n === 0)).toBe(0);
    const report = await verifyLedger(h.sql);
    expect(report.violations).toEqual([]);
  });

  test('costs are exact to the nano-dollar for sub-nano prices', () => {
    const cheapPrompt = usdPerTokenToNanosPerMtok('0.0000000375') ?? 0n;
    // $0.0000000375 per token is $0.0375 per million tokens; three tokens cost 112.5 nano-dollars.
    expect(cheapPrompt).toBe(37_500_000n);
    expect(ceilDiv(3n * cheapPrompt, FEMTOS_PER_NANO)).toBe(113n);
  });
});
