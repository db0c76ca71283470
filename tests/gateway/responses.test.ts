import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { usdPerTokenToNanosPerMtok } from '../../core/money.ts';
import { priceNanos } from '../../core/pricing.ts';
import { verifyLedger } from '../../db/queries/ledger-verify.ts';
import { walletBalance } from '../../db/queries/transfers.ts';
import { fakeResponsesInputTokens } from '../fake-upstream.ts';
import { changeChannel } from './channels-harness.ts';
import { eventually, startHarness, UPSTREAM_KEY, type Harness } from './harness.ts';

/**
 * The OpenAI Responses API through the official openai SDK, in both modes: native (the default
 * channel speaks Responses, as OpenRouter does) and translated (the channel speaks only Chat
 * Completions). Answers, streams, tool calls, exact charges, failures settled like chat's, and
 * errors raising the SDK's classes.
 */

const SMALL = {
  prompt: usdPerTokenToNanosPerMtok('0.000001') ?? 0n,
  completion: usdPerTokenToNanosPerMtok('0.000002') ?? 0n,
};
/** The customer's price for a fake/gpt-small request at the root's default 20% markup. */
const smallCharge = (promptTokens: number, completionTokens: number) =>
  priceNanos(BigInt(promptTokens) * SMALL.prompt + BigInt(completionTokens) * SMALL.completion, [2000]);

type Row = {
  outcome: string;
  charge_nanos: bigint;
  prompt_tokens: number;
  completion_tokens: number;
  estimated: boolean;
  protocol: string | null;
  route: string;
};

const weather = {
  type: 'function' as const,
  name: 'weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
};

/** The fake counts tokens alike for both modes: ceil(bytes / 4) + 3 per item (or chat message). */
const inputTokens = (body: Record<string, unknown>) => fakeResponsesInputTokens(body);

for (const mode of ['native', 'translated'] as const) {
  describe(`Responses through the openai SDK (${mode})`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({}, { listen: false });
      if (mode === 'translated')
        await changeChannel(h.sql, [h.gateway], 'default', { protocols: ['chat', 'completions', 'embeddings'] });
    });
    afterAll(async () => {
      await h.close();
    });

    const rowsOf = (accountId: string, count = 1) =>
      eventually(
        () => h.sql<Row[]>`select * from requests where account_id = ${accountId}::uuid order by created_at`,
        (r) => r.length >= count,
      );
    const settled = (walletId: bigint) =>
      eventually(
        () => walletBalance(h.sql, walletId),
        (b) => b?.heldNanos === 0n,
      );
    const upstreamPath = mode === 'native' ? '/api/v1/responses' : '/api/v1/chat/completions';

    test('a plain answer: the text, the usage, the exact charge, recorded as responses', async () => {
      const { key, account } = await h.customer('1.00');
      const body = { model: 'fake/gpt-small', input: 'Say hello', instructions: 'Be brief.', max_output_tokens: 50 };
      const response = await h.client(key).responses.create(body);
      expect(response.output_text).toBe('tok0 tok1 tok2 tok3 tok4 ');
      expect(response.status).toBe('completed');
      const tokens = inputTokens(body);
      expect(response.usage).toMatchObject({ input_tokens: tokens, output_tokens: 5 });
      const charge = smallCharge(tokens, 5);
      // The customer's own price, never the upstream's cost or its details.
      expect((response.usage as unknown as { cost: number }).cost).toBe(Number(charge) / 1e9);
      expect(JSON.stringify(response)).not.toContain('cost_details');
      expect(h.upstream.requests.at(-1)?.path).toBe(upstreamPath);
      const [row] = await rowsOf(account.id);
      expect(row).toMatchObject({ protocol: 'responses', route: '/v1/responses', outcome: 'completed' });
      expect(row?.charge_nanos).toBe(charge);
      expect((await settled(account.walletId))?.availableNanos).toBe(1_000_000_000n - charge);
    });

    test('without max_output_tokens the hold assumes the model’s largest output and sends that limit', async () => {
      const { key } = await h.customer('1.00');
      await h.client(key).responses.create({ model: 'fake/gpt-small', input: 'no limit' });
      const sent = h.upstream.requests.at(-1)?.body as Record<string, unknown>;
      expect(sent[mode === 'native' ? 'max_output_tokens' : 'max_tokens']).toBe(4_096);
    });

    test('a small balance lowers the output limit to what it affords', async () => {
      const { key } = await h.customer('0.0001');
      await h.client(key).responses.create({ model: 'fake/gpt-small', input: 'afford', max_output_tokens: 100_000 });
      const sent = h.upstream.requests.at(-1)?.body as Record<string, unknown>;
      const limit = sent[mode === 'native' ? 'max_output_tokens' : 'max_tokens'] as number;
      expect(limit).toBeGreaterThan(0);
      expect(limit).toBeLessThan(100_000);
    });

    test('streamed text through responses.stream(), charged exactly', async () => {
      const { key, account } = await h.customer('1.00');
      const body = { model: 'fake/gpt-small', input: 'stream please' };
      const stream = h.client(key).responses.stream(body);
      const deltas: string[] = [];
      const done: string[] = [];
      stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
      stream.on('response.output_item.done', (event) => done.push(event.item.type));
      const final = await stream.finalResponse();
      expect(deltas.join('')).toBe('tok0 tok1 tok2 tok3 tok4 ');
      expect(done).toEqual(['message']);
      expect(final.output_text).toBe('tok0 tok1 tok2 tok3 tok4 ');
      expect(final.usage?.output_tokens).toBe(5);
      const [row] = await rowsOf(account.id);
      expect(row?.charge_nanos).toBe(smallCharge(inputTokens(body), 5));
      expect(row?.outcome).toBe('completed');
    });

    test('a function call streams its arguments, and its output comes back on the next turn', async () => {
      const { key } = await h.customer('1.00');
      const stream = h.client(key).responses.stream({
        model: 'fake/gpt-small',
        input: 'weather? [[fake:tool_call]]',
        tools: [weather],
      });
      const argumentDeltas: string[] = [];
      stream.on('response.function_call_arguments.delta', (event) => argumentDeltas.push(event.delta));
      const final = await stream.finalResponse();
      expect(argumentDeltas.join('')).toBe('{"city":"Paris"}');
      const call = final.output.find((item) => item.type === 'function_call');
      expect(call).toMatchObject({ name: 'weather', arguments: '{"city":"Paris"}' });
      if (call?.type !== 'function_call') return;
      const next = await h.client(key).responses.create({
        model: 'fake/gpt-small',
        tools: [weather],
        input: [
          { role: 'user', content: 'weather?' },
          { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
          { type: 'function_call_output', call_id: call.call_id, output: 'Sunny' },
        ],
      });
      expect(next.output_text).toBe('tok0 tok1 tok2 tok3 tok4 ');
      const sent = h.upstream.requests.at(-1)?.body as Record<string, unknown>;
      if (mode === 'translated')
        expect(sent.messages).toEqual([
          { role: 'user', content: 'weather?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: call.call_id, type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
            ],
          },
          { role: 'tool', tool_call_id: call.call_id, content: 'Sunny' },
        ]);
      else expect((sent.input as unknown[]).length).toBe(3);
    });

    test('structured output: text.format reaches the upstream as it understands it', async () => {
      const { key } = await h.customer('1.00');
      const format = { type: 'json_schema' as const, name: 'answer', schema: { type: 'object' }, strict: true };
      const response = await h
        .client(key)
        .responses.create({ model: 'fake/gpt-small', input: 'json', text: { format } });
      const sent = h.upstream.requests.at(-1)?.body as Record<string, unknown>;
      if (mode === 'native') {
        expect(JSON.parse(response.output_text)).toEqual({ answer: 'ok' });
        expect(sent.text).toEqual({ format });
      } else {
        expect(sent.response_format).toEqual({
          type: 'json_schema',
          json_schema: { name: 'answer', schema: { type: 'object' }, strict: true },
        });
      }
    });

    test('an incomplete answer (max_output_tokens reached) ends with response.incomplete', async () => {
      const { key, account } = await h.customer('1.00');
      const final = await h
        .client(key)
        .responses.stream({ model: 'fake/gpt-small', input: 'long', max_output_tokens: 2 })
        .finalResponse();
      expect(final.status).toBe('incomplete');
      expect(final.incomplete_details?.reason).toBe('max_output_tokens');
      const [row] = await rowsOf(account.id);
      expect(row?.completion_tokens).toBe(2);
      expect(row?.outcome).toBe('completed');
    });

    test('hosted tools are passed through natively, refused with their param when translated', async () => {
      const { key, account } = await h.customer('1.00');
      const result = await h
        .client(key)
        .responses.create({ model: 'fake/gpt-small', input: 'search', tools: [weather, { type: 'web_search' }] })
        .catch((error: unknown) => error);
      if (mode === 'native') {
        expect((result as OpenAI.Responses.Response).status).toBe('completed');
        return;
      }
      expect(result).toBeInstanceOf(OpenAI.BadRequestError);
      const error = result as InstanceType<typeof OpenAI.BadRequestError>;
      expect(error.param).toBe('tools[1]');
      expect(error.message).toContain('web_search');
      expect((await settled(account.walletId))?.availableNanos).toBe(1_000_000_000n);
    });

    test('previous_response_id is a 400 saying to send the whole input; a stored response is a 404', async () => {
      const { key } = await h.customer('1.00');
      const error = await h
        .client(key)
        .responses.create({ model: 'fake/gpt-small', input: 'x', previous_response_id: 'resp_1' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain('send the whole conversation');
      const missing = await h
        .client(key)
        .responses.retrieve('resp_1')
        .catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    });

    test('SDK error classes: bad key, unknown model, no credit, over the rate limit, malformed input', async () => {
      const create = (key: string, body: Record<string, unknown>) =>
        h
          .client(key)
          .responses.create(body as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming)
          .catch((e: unknown) => e);
      expect(await create('tg-bad', { model: 'fake/gpt-small', input: 'x' })).toBeInstanceOf(
        OpenAI.AuthenticationError,
      );
      const { key } = await h.customer('1.00');
      expect(await create(key, { model: 'fake/none', input: 'x' })).toBeInstanceOf(OpenAI.NotFoundError);
      const broke = await h.customer('0');
      const noCredit = await create(broke.key, { model: 'fake/gpt-small', input: 'x' });
      expect(noCredit).toBeInstanceOf(OpenAI.APIError);
      expect((noCredit as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
      expect((noCredit as InstanceType<typeof OpenAI.APIError>).code).toBe('insufficient_quota');
      for (const [body, param] of [
        [{ model: 'fake/gpt-small' }, 'input'],
        [{ model: 'fake/gpt-small', input: [{ role: 'robot', content: 'x' }] }, 'input[0].role'],
        [{ model: 'fake/gpt-small', input: 'x', max_output_tokens: -1 }, 'max_output_tokens'],
        [{ model: 'fake/gpt-small', input: 'x', tools: [{ type: 'function' }] }, 'tools[0].name'],
      ] as const) {
        const error = await create(key, body as unknown as Record<string, unknown>);
        expect(error).toBeInstanceOf(OpenAI.BadRequestError);
        expect((error as InstanceType<typeof OpenAI.APIError>).param).toBe(param);
      }
      const limited = await h.customer('1.00');
      await h.sql`insert into rate_limit_policies (api_key_id, requests_per_minute) values (${limited.keyId}::uuid, 1)`;
      await create(limited.key, { model: 'fake/gpt-small', input: 'x' });
      expect(await create(limited.key, { model: 'fake/gpt-small', input: 'x' })).toBeInstanceOf(OpenAI.RateLimitError);
    });

    test('an upstream 500 before the first byte voids the hold, and no secret leaks', async () => {
      const { key, account } = await h.customer('1.00');
      const error = await h
        .client(key)
        .responses.create({ model: 'fake/gpt-small', input: '[[fake:status=500]]' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBeGreaterThanOrEqual(500);
      expect(JSON.stringify(error)).not.toContain('sk-upstream-SECRET');
      expect((await settled(account.walletId))?.availableNanos).toBe(1_000_000_000n);
    });

    test('a client abort after 3 events aborts the upstream and settles what was produced', async () => {
      const { key, account } = await h.customer('1.00');
      const aborted = h.upstream.aborted;
      const controller = new AbortController();
      const stream = await h
        .client(key)
        .responses.create(
          { model: 'fake/gpt-small', input: 'long [[fake:chunks=50,delay_ms=40]]', stream: true },
          { signal: controller.signal },
        );
      let deltas = 0;
      try {
        for await (const event of stream) {
          if (event.type === 'response.output_text.delta') deltas += 1;
          if (deltas === 3) controller.abort();
        }
      } catch {
        // The SDK throws an abort error: that is the point.
      }
      const [row] = await rowsOf(account.id);
      expect(row?.outcome).toBe('aborted');
      expect(row?.completion_tokens).toBeGreaterThanOrEqual(3);
      expect(row?.completion_tokens).toBeLessThan(50);
      expect(row?.charge_nanos).toBeGreaterThan(0n);
      await eventually(
        async () => h.upstream.aborted,
        (n) => n > aborted,
      );
    });

    test('an upstream cut mid-stream ends with an error event the SDK raises, and charges what was delivered', async () => {
      const { key, account } = await h.customer('1.00');
      const response = await h.req('/v1/responses', {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'fake/gpt-small', input: '[[fake:chunks=20,cut_after=4]]', stream: true }),
      });
      const text = await response.text();
      expect(text.match(/event: response\.output_text\.delta/g)?.length).toBe(4);
      expect(text).toContain('event: error\ndata: {"type":"error","code":"upstream_disconnected"');
      expect(text).toContain('event: response.failed');
      const [row] = await rowsOf(account.id);
      expect(row?.outcome).toBe('failed');
      expect(row?.completion_tokens).toBe(4);
      expect(row?.charge_nanos).toBeGreaterThan(0n);
      const stream = h.client(key).responses.stream({ model: 'fake/gpt-small', input: '[[fake:cut_after=2]]' });
      expect(await stream.finalResponse().catch((e: unknown) => e)).toBeInstanceOf(OpenAI.APIError);
    });

    test('a burst of concurrent streams on a small balance never takes the wallet below zero', async () => {
      const { key, account } = await h.customer('0.01');
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () =>
          h
            .client(key)
            .responses.stream({ model: 'fake/gpt-large', input: 'burst [[fake:chunks=20]]', max_output_tokens: 200 })
            .finalResponse(),
        ),
      );
      expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
      expect((await settled(account.walletId))?.availableNanos).toBeGreaterThanOrEqual(0n);
    });

    test('no hold is left open, the ledger verifies clean, and no log line holds a key', async () => {
      const open = await eventually(
        async () => (await h.sql<{ n: number }[]>`select count(*)::int as n from holds where outcome is null`)[0]?.n,
        (n) => n === 0,
      );
      expect(open).toBe(0);
      expect((await verifyLedger(h.sql)).violations).toEqual([]);
      const logs = h.logs.join('\n');
      expect(logs).not.toMatch(/tg-[A-Za-z0-9_-]{20,}/);
      expect(logs).not.toContain(UPSTREAM_KEY);
      expect(logs).not.toContain('sk-upstream-SECRET');
    });

    test('reasoning summaries stream as reasoning_summary_text events, and reasoning is billed as output', async () => {
      const { key, account } = await h.customer('1.00');
      const reasoning = { effort: 'low' as const, summary: 'auto' as const };
      const body = { model: 'fake/gpt-small', input: 'think', reasoning };
      const stream = h.client(key).responses.stream(body);
      const summary: string[] = [];
      stream.on('response.reasoning_summary_text.delta', (event) => summary.push(event.delta));
      const final = await stream.finalResponse();
      expect(summary.join('')).toBe('Thinking it over.');
      expect(final.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
      // The native fake counts its two reasoning tokens in the output; the chat fake reports none.
      const reasoningTokens = mode === 'native' ? 2 : 0;
      expect(final.usage?.output_tokens_details.reasoning_tokens).toBe(reasoningTokens);
      const [row] = await rowsOf(account.id);
      expect(row?.completion_tokens).toBe(5 + reasoningTokens);
      expect(row?.charge_nanos).toBe(smallCharge(inputTokens(body), 5 + reasoningTokens));
      if (mode === 'translated')
        expect((h.upstream.requests.at(-1)?.body as { reasoning: unknown }).reasoning).toEqual({ effort: 'low' });
    });

    if (mode === 'native') {
      test('a native stream arrives byte for byte, and a reported cost becomes the customer’s price', async () => {
        const { key } = await h.customer('1.00');
        const relay = async (body: Record<string, unknown>) => {
          const init = { method: 'POST', body: JSON.stringify(body) };
          const headers = { 'content-type': 'application/json' };
          const relayed = await h
            .req('/v1/responses', { ...init, headers: { ...headers, authorization: `Bearer ${key}` } })
            .then((r) => r.text());
          const direct = await fetch(`${h.upstream.baseUrl}/responses`, {
            ...init,
            headers: { ...headers, authorization: `Bearer ${UPSTREAM_KEY}` },
          }).then((r) => r.text());
          // The fake's ids and timestamps differ per request; everything else is the same bytes.
          const normalise = (text: string) =>
            text.replace(/(gen|call)-?_?[a-z0-9]{8}[a-z0-9]+/g, 'ID').replace(/"created_at":\d+/g, '"created_at":0');
          return { relayed: normalise(relayed), direct: normalise(direct) };
        };
        const body = {
          model: 'fake/gpt-small',
          input: 'bytes [[fake:no_cost,tool_call]]',
          tools: [weather],
          reasoning: { summary: 'auto' },
          max_output_tokens: 100,
          stream: true,
        };
        const plain = await relay(body);
        expect(plain.relayed).toBe(plain.direct);
        expect(plain.relayed).toContain('event: response.reasoning_summary_text.delta');
        const priced = await relay({ ...body, input: 'bytes [[fake:tool_call]]' });
        const lastEvent = (text: string) => text.slice(text.lastIndexOf('event: '));
        expect(priced.relayed.slice(0, -lastEvent(priced.relayed).length)).toBe(
          priced.direct.slice(0, -lastEvent(priced.direct).length),
        );
        expect(lastEvent(priced.direct)).toContain('cost_details');
        expect(lastEvent(priced.relayed)).not.toContain('cost_details');
        expect(lastEvent(priced.relayed)).toContain('"cost":');
      });
    }
  });
}
