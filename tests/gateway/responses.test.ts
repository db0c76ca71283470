import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { fakeResponsesInputTokens } from '../fake-upstream.ts';
import { UPSTREAM_KEY, type Harness } from './harness.ts';
import {
  MODES,
  rowsOf,
  settled,
  smallCharge,
  startResponsesHarness,
  upstreamPathOf,
  weather,
} from './responses-harness.ts';

/**
 * The OpenAI Responses API through the official openai SDK, in both modes: answers, streams, tool
 * calls, structured output, reasoning summaries and exact charges (failures and errors:
 * responses-failures.test.ts).
 */

/** The fake counts tokens alike for both modes: ceil(bytes / 4) + 3 per item (or chat message). */
const inputTokens = (body: Record<string, unknown>) => fakeResponsesInputTokens(body);

for (const mode of MODES) {
  describe(`Responses through the openai SDK (${mode})`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startResponsesHarness(mode);
    });
    afterAll(async () => {
      await h.close();
    });

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
      expect(h.upstream.requests.at(-1)?.path).toBe(upstreamPathOf(mode));
      const [row] = await rowsOf(h, account.id);
      expect(row).toMatchObject({ protocol: 'responses', route: '/v1/responses', outcome: 'completed' });
      expect(row?.charge_nanos).toBe(charge);
      expect((await settled(h, account.walletId))?.availableNanos).toBe(1_000_000_000n - charge);
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
      const [row] = await rowsOf(h, account.id);
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
      const [row] = await rowsOf(h, account.id);
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
      expect((await settled(h, account.walletId))?.availableNanos).toBe(1_000_000_000n);
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
      const [row] = await rowsOf(h, account.id);
      expect(row?.completion_tokens).toBe(5 + reasoningTokens);
      expect(row?.charge_nanos).toBe(smallCharge(inputTokens(body), 5 + reasoningTokens));
      if (mode === 'translated')
        expect((h.upstream.requests.at(-1)?.body as { reasoning?: unknown } | undefined)?.reasoning).toEqual({
          effort: 'low',
        });
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
