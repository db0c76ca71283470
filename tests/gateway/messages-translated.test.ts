import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import Anthropic from '@anthropic-ai/sdk';
import { usdPerTokenToNanosPerMtok } from '../../core/money.ts';
import { priceNanos } from '../../core/pricing.ts';
import { verifyLedger } from '../../db/queries/ledger-verify.ts';
import { walletBalance } from '../../db/queries/transfers.ts';
import { fakePromptTokens } from '../fake-upstream.ts';
import { changeChannel } from './channels-harness.ts';
import { eventually, startHarness, type Harness } from './harness.ts';

/**
 * `POST /v1/messages` in translated mode: the only channel speaks Chat Completions alone, so the
 * gateway calls the fake's /chat/completions and the official Anthropic SDK must not tell.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await changeChannel(h.sql, [h.gateway], 'default', { protocols: ['chat', 'completions', 'embeddings'] });
});
afterAll(async () => {
  await h.close();
});

const MODEL = 'fake/gpt-small';
const SMALL = {
  prompt: usdPerTokenToNanosPerMtok('0.000001') ?? 0n,
  completion: usdPerTokenToNanosPerMtok('0.000002') ?? 0n,
};
/** The customer's price at the root's default 20% markup. */
const smallCharge = (promptTokens: number, completionTokens: number) =>
  priceNanos(BigInt(promptTokens) * SMALL.prompt + BigInt(completionTokens) * SMALL.completion, [2000]);

const anthropic = (key: string) => new Anthropic({ apiKey: key, baseURL: h.gateway.url, maxRetries: 0 });
const say = (text: string) => [{ role: 'user' as const, content: text }];

/** The body the fake received last: what the translation sent. */
const lastChatBody = () => h.upstream.requests.at(-1)?.body as Record<string, unknown>;

async function requestRow(requestId: string) {
  const rows = await eventually(
    () =>
      h.sql<
        { outcome: string; charge_nanos: bigint; protocol: string | null }[]
      >`select outcome, charge_nanos, protocol from requests where id = ${requestId}`,
    (r) => r.length === 1 && r[0]?.outcome !== 'pending',
  );
  return rows[0];
}

async function settled(walletId: bigint) {
  return eventually(
    () => walletBalance(h.sql, walletId),
    (b) => b?.heldNanos === 0n,
  );
}

/** Open holds once settlement is over; a key's idle spare holds are voided within a second. */
async function openHolds(): Promise<number> {
  return eventually(
    async () => {
      const [row] = await h.sql<{ n: number }[]>`select count(*)::int as n from holds where outcome is null`;
      return row?.n ?? -1;
    },
    (n) => n === 0,
  );
}

describe('Messages over a chat-only upstream, through the Anthropic SDK', () => {
  test('a plain message is answered in Anthropic shape, sent upstream as chat, and charged exactly', async () => {
    const { key, account } = await h.customer('1.00');
    const { data: message, response } = await anthropic(key)
      .messages.create({ model: MODEL, max_tokens: 100, system: 'Be brief.', messages: say('Say hello') })
      .withResponse();
    expect(h.upstream.requests.at(-1)?.path).toBe('/api/v1/chat/completions');
    expect(lastChatBody().messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Say hello' },
    ]);
    expect(message.type).toBe('message');
    expect(message.model).toBe(MODEL);
    expect(message.content).toEqual([{ type: 'text', text: 'tok0 tok1 tok2 tok3 tok4 ' }] as typeof message.content);
    expect(message.stop_reason).toBe('end_turn');
    const promptTokens = fakePromptTokens(lastChatBody());
    expect(message.usage.input_tokens).toBe(promptTokens);
    expect(message.usage.output_tokens).toBe(5);
    const charge = smallCharge(promptTokens, 5);
    expect((message.usage as unknown as { cost: number }).cost).toBe(Number(charge) / 1e9);
    const row = await requestRow(response.headers.get('x-request-id') ?? '');
    expect(row).toEqual({ outcome: 'completed', charge_nanos: charge, protocol: 'messages' });
    expect((await settled(account.walletId))?.availableNanos).toBe(1_000_000_000n - charge);
  });

  test('a streamed message is assembled by the SDK and charged from the translated usage', async () => {
    const { key, account } = await h.customer('1.00');
    const stream = anthropic(key).messages.stream({
      model: MODEL,
      max_tokens: 100,
      messages: say('stream please [[fake:chunks=6,delay_ms=10]]'),
    });
    const types: string[] = [];
    stream.on('streamEvent', (event) => types.push(event.type));
    const message = await stream.finalMessage();
    expect(message.content).toEqual([
      { type: 'text', text: 'tok0 tok1 tok2 tok3 tok4 tok5 ' },
    ] as typeof message.content);
    expect(types.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'content_block_delta']);
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(lastChatBody().stream_options).toEqual({ include_usage: true });
    const charge = smallCharge(fakePromptTokens(lastChatBody()), 6);
    expect(message.usage.output_tokens).toBe(6);
    expect((await settled(account.walletId))?.availableNanos).toBe(1_000_000_000n - charge);
  });

  test('without a reported cost, a translated stream is charged tokens × the catalog price', async () => {
    const { key, account } = await h.customer('1.00');
    const message = await anthropic(key)
      .messages.stream({ model: MODEL, max_tokens: 100, messages: say('no cost here [[fake:no_cost,chunks=4]]') })
      .finalMessage();
    expect(message.usage.output_tokens).toBe(4);
    const charge = smallCharge(fakePromptTokens(lastChatBody()), 4);
    expect((await settled(account.walletId))?.availableNanos).toBe(1_000_000_000n - charge);
  });

  test('a chat upstream that reports no usage is settled by the estimate, flagged, not billed as zero tokens', async () => {
    const { key } = await h.customer('1.00');
    for (const stream of [false, true]) {
      const { data, response } = await anthropic(key)
        .messages.create({ model: MODEL, max_tokens: 100, stream, messages: say('Say hello [[fake:no_usage]]') })
        .withResponse();
      if (stream) for await (const _event of data as AsyncIterable<unknown>);
      else expect(JSON.stringify(data)).not.toContain('unreported');
      const id = response.headers.get('x-request-id') ?? '';
      const [row] = await eventually(
        () => h.sql<{ estimated: boolean; distrusted: boolean; completion_tokens: number; charge_nanos: bigint }[]>`
          select estimated, usage_distrusted as distrusted, completion_tokens, charge_nanos from requests where id = ${id}`,
        (rows) => rows.length === 1,
      );
      expect(row?.estimated).toBe(true);
      expect(row?.distrusted).toBe(true);
      expect(row?.completion_tokens).toBeGreaterThan(0);
      expect(row?.charge_nanos).toBeGreaterThan(0n);
    }
  });

  test('a tool call streams its arguments as input_json_delta and arrives as a tool_use block', async () => {
    const { key } = await h.customer('1.00');
    const tools = [
      {
        name: 'weather',
        description: 'The weather in a city',
        input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } },
      },
    ];
    const stream = anthropic(key).messages.stream({
      model: MODEL,
      max_tokens: 100,
      tools,
      tool_choice: { type: 'any' },
      messages: say('Weather in Paris? [[fake:tool_call]]'),
    });
    const partials: string[] = [];
    stream.on('inputJson', (partial) => partials.push(partial));
    const message = await stream.finalMessage();
    expect(lastChatBody().tool_choice).toBe('required');
    expect(partials.join('')).toBe('{"city":"Paris"}');
    expect(partials.length).toBe(4);
    expect(message.stop_reason).toBe('tool_use');
    const [block] = message.content;
    expect(block?.type === 'tool_use' && [block.name, block.input]).toEqual(['weather', { city: 'Paris' }]);
    // The result goes back as a chat tool message on the next turn.
    const id = block?.type === 'tool_use' ? block.id : '';
    await anthropic(key).messages.create({
      model: MODEL,
      max_tokens: 50,
      tools,
      messages: [
        ...say('Weather in Paris?'),
        { role: 'assistant', content: message.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: '18 C' }] },
      ],
    });
    expect((lastChatBody().messages as unknown[]).slice(1)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id, type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }],
      },
      { role: 'tool', tool_call_id: id, content: '18 C' },
    ]);
  });

  test('reasoning comes back as a signed thinking block, whole and streamed', async () => {
    const { key } = await h.customer('1.00');
    const request = {
      model: MODEL,
      max_tokens: 2000,
      thinking: { type: 'enabled' as const, budget_tokens: 1024 },
      messages: say('Think first [[fake:reasoning,chunks=3]]'),
    };
    const expected = [
      { type: 'thinking', thinking: 'tok0 ', signature: 'fake-signature' },
      { type: 'text', text: 'tok1 tok2 ' },
    ];
    const whole = await anthropic(key).messages.create(request);
    expect(lastChatBody().reasoning).toEqual({ max_tokens: 1024 });
    expect(whole.content as unknown[]).toEqual(expected);
    const streamed = await anthropic(key).messages.stream(request).finalMessage();
    expect(streamed.content as unknown[]).toEqual(expected);
  });

  test('an image goes upstream as an image_url part', async () => {
    const { key } = await h.customer('1.00');
    const message = await anthropic(key).messages.create({
      model: MODEL,
      max_tokens: 50,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'text', text: 'What is this?' },
          ],
        },
      ],
    });
    expect(message.content.length).toBe(1);
    expect(lastChatBody().messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'text', text: 'What is this?' },
        ],
      },
    ]);
  });

  test('a server tool cannot be translated: BadRequestError naming it, nothing sent, nothing held', async () => {
    const { key, account } = await h.customer('1.00');
    const before = h.upstream.requests.length;
    const error = await anthropic(key)
      .messages.create({
        model: MODEL,
        max_tokens: 50,
        tools: [{ type: 'web_search_20250305', name: 'web_search' }],
        messages: say('Search the web'),
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    const body = (error as InstanceType<typeof Anthropic.BadRequestError>).error as {
      type: string;
      error: { type: string; message: string };
    };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toContain('web_search_20250305');
    expect(h.upstream.requests.length).toBe(before);
    expect((await settled(account.walletId))?.availableNanos).toBe(1_000_000_000n);
  });
});

describe('Messages over a chat-only upstream: failures settle like chat', () => {
  test('a burst of streams leaves no hold open and the ledger verifies', async () => {
    const { key, account } = await h.customer('0.05');
    const client = anthropic(key);
    const results = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) =>
        client.messages
          .stream({ model: MODEL, max_tokens: 200, messages: say(`burst ${i} [[fake:delay_ms=5]]`) })
          .finalMessage(),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThan(0);
    const balance = await settled(account.walletId);
    expect(balance?.availableNanos).toBeGreaterThanOrEqual(0n);
    expect(await openHolds()).toBe(0);
    expect((await verifyLedger(h.sql)).violations).toEqual([]);
  });

  test('a client that leaves after three events is settled, its hold closed', async () => {
    const { key, account } = await h.customer('1.00');
    const controller = new AbortController();
    const stream = await anthropic(key).messages.create(
      { model: MODEL, max_tokens: 100, stream: true, messages: say('slow [[fake:chunks=50,delay_ms=40]]') },
      { signal: controller.signal },
    );
    let seen = 0;
    await (async () => {
      for await (const _event of stream) if (++seen === 3) controller.abort();
    })().catch(() => {});
    expect(seen).toBe(3);
    const balance = await settled(account.walletId);
    expect(balance?.availableNanos).toBeLessThan(1_000_000_000n);
    expect(await openHolds()).toBe(0);
    expect((await verifyLedger(h.sql)).violations).toEqual([]);
  });

  test('an upstream that cuts its stream ends it with an error event the SDK raises', async () => {
    const { key, account } = await h.customer('1.00');
    const error = await anthropic(key)
      .messages.stream({ model: MODEL, max_tokens: 100, messages: say('cut [[fake:cut_after=2]]') })
      .finalMessage()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    await settled(account.walletId);
    expect(await openHolds()).toBe(0);
    expect((await verifyLedger(h.sql)).violations).toEqual([]);
  });

  test('an error event from the upstream mid-stream becomes an Anthropic error event; the hold is settled', async () => {
    const { key, account } = await h.customer('1.00');
    const stream = await anthropic(key).messages.create({
      model: MODEL,
      max_tokens: 100,
      stream: true,
      messages: say('fails midway [[fake:stream_error_after=2]]'),
    });
    const types: string[] = [];
    const error = await (async () => {
      for await (const event of stream) types.push(event.type);
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect(types[0]).toBe('message_start');
    expect(types).toContain('content_block_delta');
    expect(JSON.stringify(error)).not.toContain('sk-upstream-SECRET');
    await settled(account.walletId);
    expect(await openHolds()).toBe(0);
    expect((await verifyLedger(h.sql)).violations).toEqual([]);
  });

  test('an upstream 500 raises an SDK error, charges nothing and leaves no hold', async () => {
    const { key, account } = await h.customer('1.00');
    const error = await anthropic(key)
      .messages.create({ model: MODEL, max_tokens: 100, messages: say('fail [[fake:status=500]]') })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as InstanceType<typeof Anthropic.APIError>).status).toBeGreaterThanOrEqual(500);
    expect((await settled(account.walletId))?.availableNanos).toBe(1_000_000_000n);
    expect(await openHolds()).toBe(0);
    expect((await verifyLedger(h.sql)).violations).toEqual([]);
  });
});
