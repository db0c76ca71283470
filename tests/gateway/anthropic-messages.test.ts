import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import Anthropic from '@anthropic-ai/sdk';
import { usdPerTokenToNanosPerMtok } from '../../core/money.ts';
import { priceNanos } from '../../core/pricing.ts';
import { walletBalance } from '../../db/queries/transfers.ts';
import { fakeMessagesPromptTokens } from '../fake-upstream.ts';
import { eventually, expectSettledAndSecretFree, startHarness, UPSTREAM_KEY, type Harness } from './harness.ts';

/**
 * Anthropic's Messages API in native mode (the default channel speaks it, as OpenRouter does),
 * through the official Anthropic SDK: answers, streams byte for byte, exact charges, failures
 * settled like chat's, and errors in Anthropic's shape raising the SDK's own classes.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({}, { listen: false });
});
afterAll(async () => {
  await h.close();
});

function client(key: string): Anthropic {
  return new Anthropic({
    apiKey: key,
    baseURL: h.gateway.url,
    maxRetries: 0,
    fetch: async (url: string | URL | Request, init?: RequestInit) => {
      const response = await h.gateway.handle(new Request(url, init));
      if (init?.signal?.aborted) throw new DOMException('The operation was aborted.', 'AbortError');
      return response;
    },
  });
}

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
  status_code: number;
};

async function rowsOf(accountId: string, count = 1): Promise<Row[]> {
  return eventually(
    () => h.sql<Row[]>`select * from requests where account_id = ${accountId}::uuid order by created_at`,
    (r) => r.length >= count,
  );
}

async function settledBalance(walletId: bigint) {
  return eventually(
    () => walletBalance(h.sql, walletId),
    (b) => b?.heldNanos === 0n,
  );
}

const ask = (content: string) => [{ role: 'user' as const, content }];

describe('messages through the official Anthropic SDK (native)', () => {
  test('a plain message: the text, the usage, the exact charge, and the request recorded as messages', async () => {
    const { key, account } = await h.customer('1.00');
    const messages = ask('Say hello [[fake:no_cost]]');
    const raw = await client(key)
      .messages.create({ model: 'fake/gpt-small', max_tokens: 100, messages, system: 'Be brief.' })
      .withResponse();
    const message = raw.data;
    expect(message.content as unknown[]).toEqual([{ type: 'text', text: 'tok0 tok1 tok2 tok3 tok4 ' }]);
    const promptTokens = fakeMessagesPromptTokens({ messages, system: 'Be brief.' });
    expect(message.usage.input_tokens).toBe(promptTokens);
    expect(message.usage.output_tokens).toBe(5);
    expect(message.stop_reason).toBe('end_turn');
    expect(raw.response.headers.get('request-id')).toBe(raw.response.headers.get('x-request-id'));
    const [row] = await rowsOf(account.id);
    expect(row?.protocol).toBe('messages');
    expect(row?.route).toBe('/v1/messages');
    expect(row?.outcome).toBe('completed');
    expect(row?.charge_nanos).toBe(smallCharge(promptTokens, 5));
    expect((await settledBalance(account.walletId))?.availableNanos).toBe(
      1_000_000_000n - smallCharge(promptTokens, 5),
    );
  });

  test('a reported cost is billed at the default markup, and the customer sees their own price, never the upstream cost', async () => {
    const { key, account } = await h.customer('1.00');
    const messages = ask('reported cost please');
    const message = await client(key).messages.create({ model: 'fake/gpt-small', max_tokens: 50, messages });
    const promptTokens = fakeMessagesPromptTokens({ messages });
    const charge = smallCharge(promptTokens, 5);
    expect((message.usage as unknown as { cost: number }).cost).toBe(Number(charge) / 1e9);
    const [row] = await rowsOf(account.id);
    expect(row?.charge_nanos).toBe(charge);
  });

  test('the upstream gets the channel key, the anthropic headers, and never the customer key', async () => {
    const { key } = await h.customer('1.00');
    await client(key).messages.create(
      { model: 'fake/gpt-small', max_tokens: 10, messages: ask('headers') },
      { headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14' } },
    );
    const seen = h.upstream.requests.at(-1);
    expect(seen?.path).toBe('/api/v1/messages');
    expect(seen?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(seen?.headers['anthropic-version']).toBeString();
    expect(seen?.headers['anthropic-beta']).toBe('interleaved-thinking-2025-05-14');
    expect(JSON.stringify(seen)).not.toContain(key);
  });

  test('x-api-key authenticates too, and ?beta=true is accepted (what Claude Code sends)', async () => {
    const { key } = await h.customer('1.00');
    const response = await h.req('/v1/messages?beta=true', {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'fake/gpt-small', max_tokens: 10, messages: ask('hi') }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { type: string }).type).toBe('message');
  });

  test('a streamed message arrives byte-identical to the upstream stream and is charged from message_delta', async () => {
    const { key, account } = await h.customer('1.00');
    const body = { model: 'fake/gpt-small', max_tokens: 100, stream: true, messages: ask('stream [[fake:no_cost]]') };
    const response = await h.req('/v1/messages', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const relayed = await response.text();
    const direct = await fetch(`${h.upstream.baseUrl}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${UPSTREAM_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then((r) => r.text());
    // The fake's message ids differ per request; everything else is the same bytes.
    const normalise = (text: string) => text.replace(/msg_fake\w+/g, 'msg_ID');
    expect(normalise(relayed)).toBe(normalise(direct));
    expect(relayed).toContain('event: message_stop');
    const [row] = await rowsOf(account.id);
    expect(row?.completion_tokens).toBe(5);
    expect(row?.charge_nanos).toBe(smallCharge(fakeMessagesPromptTokens(body), 5));
  });

  test('streamed text through the SDK: messages.stream().finalMessage()', async () => {
    const { key } = await h.customer('1.00');
    const stream = client(key).messages.stream({ model: 'fake/gpt-small', max_tokens: 100, messages: ask('hi') });
    const texts: string[] = [];
    stream.on('text', (text) => texts.push(text));
    const message = await stream.finalMessage();
    expect(texts.join('')).toBe('tok0 tok1 tok2 tok3 tok4 ');
    expect(message.usage.output_tokens).toBe(5);
  });

  test('tool use streams its input as input_json_delta, and the tool_result comes back on the next turn', async () => {
    const { key } = await h.customer('1.00');
    const tools = [
      {
        name: 'get_weather',
        description: 'Weather of a city',
        input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
        cache_control: { type: 'ephemeral' as const },
      },
    ];
    const stream = client(key).messages.stream({
      model: 'fake/gpt-small',
      max_tokens: 100,
      tools,
      tool_choice: { type: 'auto' },
      messages: ask('weather? [[fake:tool_call]]'),
    });
    const partials: string[] = [];
    stream.on('inputJson', (partial) => partials.push(partial));
    const message = await stream.finalMessage();
    expect(partials.join('')).toBe('{"city":"Paris"}');
    const use = message.content[0];
    expect(use?.type).toBe('tool_use');
    if (use?.type !== 'tool_use') return;
    expect(use.input).toEqual({ city: 'Paris' });
    expect(message.stop_reason).toBe('tool_use');
    const next = await client(key).messages.create({
      model: 'fake/gpt-small',
      max_tokens: 100,
      tools,
      messages: [
        ...ask('weather?'),
        { role: 'assistant', content: message.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'Sunny, 21 °C' }] },
      ],
    });
    expect(next.content[0]?.type).toBe('text');
  });

  test('thinking blocks stream with their signature, and go back with it', async () => {
    const { key } = await h.customer('1.00');
    const message = await client(key)
      .messages.stream({
        model: 'fake/gpt-small',
        max_tokens: 2_000,
        thinking: { type: 'enabled', budget_tokens: 1_024 },
        messages: ask('think'),
      })
      .finalMessage();
    const thinking = message.content[0];
    expect(thinking?.type).toBe('thinking');
    if (thinking?.type !== 'thinking') return;
    expect(thinking.thinking).toBe('think0 think1 ');
    expect(thinking.signature.length).toBeGreaterThan(0);
    expect(message.content[1]?.type).toBe('text');
    const again = await client(key).messages.create({
      model: 'fake/gpt-small',
      max_tokens: 2_000,
      thinking: { type: 'enabled', budget_tokens: 1_024 },
      messages: [...ask('think'), { role: 'assistant', content: message.content }, ...ask('more')],
    });
    expect(again.content.length).toBe(2);
  });

  test('images and documents pass, and each is held for as a media item', async () => {
    const { key } = await h.customer('1.00');
    const pixel = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
    const message = await client(key).messages.create({
      model: 'fake/gpt-small',
      max_tokens: 20,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: pixel } },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'A short file.' } },
            { type: 'text', text: 'What is this?' },
          ],
        },
      ],
    });
    expect(message.content[0]?.type).toBe('text');
    const sent = h.upstream.requests.at(-1)?.body as { messages: { content: { type: string }[] }[] };
    expect(sent.messages[0]?.content.map((b) => b.type)).toEqual(['image', 'document', 'text']);
  });

  test('a system prompt of blocks with cache_control, a system message, metadata and sampling pass through', async () => {
    const { key, account } = await h.customer('1.00');
    const body = {
      model: 'fake/gpt-small',
      max_tokens: 30,
      system: [
        { type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1' },
        { type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } },
      ],
      messages: [
        { role: 'system', content: 'Environment: linux' },
        { role: 'user', content: [{ type: 'text', text: 'hello', cache_control: { type: 'ephemeral' } }] },
      ],
      metadata: { user_id: '{"device_id":"d","session_id":"s"}' },
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ['STOP'],
      output_config: { effort: 'medium' },
      stream: false,
    };
    const response = await h.req('/v1/messages', {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    const usage = ((await response.json()) as { usage: Anthropic.Usage }).usage;
    // The fake reports every prompt token as a cache write when a message block marks a breakpoint.
    expect(usage.cache_creation_input_tokens).toBe(fakeMessagesPromptTokens(body));
    const sent = h.upstream.requests.at(-1)?.body as Record<string, unknown>;
    expect(sent.metadata).toEqual(body.metadata);
    expect(sent.output_config).toEqual(body.output_config);
    expect(sent.top_k).toBe(40);
    const [row] = await rowsOf(account.id);
    expect(row?.prompt_tokens).toBe(fakeMessagesPromptTokens(body));
  });

  test('max_tokens is lowered to what the balance affords, and thinking with it', async () => {
    const { key } = await h.customer('0.003');
    await client(key)
      .messages.stream({
        model: 'fake/gpt-small',
        max_tokens: 100_000,
        thinking: { type: 'enabled', budget_tokens: 50_000 },
        messages: ask('afford'),
      })
      .finalMessage();
    const sent = h.upstream.requests.at(-1)?.body as { max_tokens: number; thinking: { budget_tokens?: number } };
    expect(sent.max_tokens).toBeLessThan(100_000);
    expect(sent.max_tokens).toBeGreaterThan(0);
    // Thinking counts inside max_tokens: a budget the lowered limit has no room for is lowered or turned off.
    expect(sent.thinking.budget_tokens ?? 0).toBeLessThan(sent.max_tokens);
  });

  test('count_tokens is free and answers input_tokens', async () => {
    const { key, account } = await h.customer('0');
    const counted = await client(key).messages.countTokens({
      model: 'fake/gpt-small',
      messages: ask('How many tokens is this?'),
      system: 'Be brief.',
    });
    expect(counted.input_tokens).toBeGreaterThan(0);
    expect(counted.input_tokens).toBeLessThan(100);
    const rows = await h.sql`select 1 from requests where account_id = ${account.id}::uuid`;
    expect(rows.length).toBe(0);
  });
});

describe('errors in Anthropic shape, raising the SDK classes', () => {
  const create = (key: string, body: Record<string, unknown>) =>
    client(key)
      .messages.create(body as unknown as Anthropic.MessageCreateParamsNonStreaming)
      .catch((error: unknown) => error);

  test('a bad key is an AuthenticationError with an authentication_error body and a request-id', async () => {
    const error = await create('tg-bad', { model: 'fake/gpt-small', max_tokens: 5, messages: ask('x') });
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    const apiError = error as InstanceType<typeof Anthropic.APIError>;
    expect((apiError.error as { type: string; error: { type: string } }).error.type).toBe('authentication_error');
    expect(apiError.requestID).toBeString();
  });

  test('an unknown model is a NotFoundError', async () => {
    const { key } = await h.customer('1.00');
    const error = await create(key, { model: 'fake/none', max_tokens: 5, messages: ask('x') });
    expect(error).toBeInstanceOf(Anthropic.NotFoundError);
    expect(((error as InstanceType<typeof Anthropic.APIError>).error as { error: { type: string } }).error.type).toBe(
      'not_found_error',
    );
  });

  test('a model the key may not use is a PermissionDeniedError', async () => {
    const { key } = await h.customer('1.00', { allowedModels: ['fake/gpt-large'] });
    const error = await create(key, { model: 'fake/gpt-small', max_tokens: 5, messages: ask('x') });
    expect(error).toBeInstanceOf(Anthropic.PermissionDeniedError);
  });

  test('no credit is a 402 billing_error', async () => {
    const { key } = await h.customer('0');
    const error = await create(key, { model: 'fake/gpt-small', max_tokens: 5, messages: ask('x') });
    expect(error).toBeInstanceOf(Anthropic.APIError);
    const apiError = error as InstanceType<typeof Anthropic.APIError>;
    expect(apiError.status).toBe(402);
    expect((apiError.error as { error: { type: string } }).error.type).toBe('billing_error');
  });

  test('over the rate limit is a RateLimitError with retry-after', async () => {
    const { key, keyId } = await h.customer('1.00');
    await h.sql`insert into rate_limit_policies (api_key_id, requests_per_minute) values (${keyId}::uuid, 1)`;
    await create(key, { model: 'fake/gpt-small', max_tokens: 5, messages: ask('x') });
    const error = await create(key, { model: 'fake/gpt-small', max_tokens: 5, messages: ask('x') });
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect((error as InstanceType<typeof Anthropic.APIError>).headers?.get('retry-after')).toBeString();
  });

  test('malformed bodies are BadRequestErrors naming what is wrong', async () => {
    const { key } = await h.customer('1.00');
    for (const [body, words] of [
      [{ model: 'fake/gpt-small', messages: ask('x') }, 'max_tokens'],
      [{ model: 'fake/gpt-small', max_tokens: 5, messages: [] }, 'messages'],
      [{ model: 'fake/gpt-small', max_tokens: 5, messages: [{ role: 'robot', content: 'x' }] }, 'role'],
      [
        { model: 'fake/gpt-small', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'image' }] }] },
        'source',
      ],
      [{ model: 'fake/gpt-small', max_tokens: 5, messages: ask('x'), temperature: 3 }, 'temperature'],
      [{ model: 'fake/gpt-small', max_tokens: 5, messages: ask('x'), tools: [{ name: 'f' }] }, 'input_schema'],
      [
        {
          model: 'fake/gpt-small',
          max_tokens: 2_000,
          messages: ask('x'),
          thinking: { type: 'enabled', budget_tokens: 10 },
        },
        'budget_tokens',
      ],
    ] as const) {
      const error = await create(key, body as unknown as Record<string, unknown>);
      expect(error).toBeInstanceOf(Anthropic.BadRequestError);
      const apiError = error as InstanceType<typeof Anthropic.APIError>;
      expect((apiError.error as { error: { type: string; message: string } }).error.type).toBe('invalid_request_error');
      expect((apiError.error as { error: { message: string } }).error.message).toContain(words);
    }
  });

  test('an upstream 500 before the first byte voids the hold; an upstream 529 is overloaded; no secret leaks', async () => {
    const { key, account } = await h.customer('1.00');
    const error = await create(key, { model: 'fake/gpt-small', max_tokens: 5, messages: ask('[[fake:status=500]]') });
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect(JSON.stringify((error as InstanceType<typeof Anthropic.APIError>).error)).not.toContain(
      'sk-upstream-SECRET',
    );
    expect((await settledBalance(account.walletId))?.availableNanos).toBe(1_000_000_000n);
    const overloaded = await create(key, {
      model: 'fake/gpt-small',
      max_tokens: 5,
      messages: ask('[[fake:status=529]]'),
    });
    expect(overloaded).toBeInstanceOf(Anthropic.InternalServerError);
    expect((overloaded as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect(
      ((overloaded as InstanceType<typeof Anthropic.APIError>).error as { error: { type: string } }).error.type,
    ).toBe('overloaded_error');
  });
});

describe('settlement of failed Messages streams', () => {
  test('a client abort after 3 events aborts the upstream and settles from the generation record', async () => {
    const { key, account } = await h.customer('1.00');
    const controller = new AbortController();
    const stream = await client(key).messages.create(
      { model: 'fake/gpt-small', max_tokens: 100, stream: true, messages: ask('long [[fake:chunks=50,delay_ms=40]]') },
      { signal: controller.signal },
    );
    let deltas = 0;
    try {
      for await (const event of stream) {
        if (event.type === 'content_block_delta') deltas += 1;
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
    expect(row?.estimated).toBe(false);
    await eventually(
      async () => h.upstream.aborted,
      (n) => n > 0,
    );
  });

  test('an upstream cut mid-stream ends the stream with an Anthropic error event and charges what was delivered', async () => {
    const { key, account } = await h.customer('1.00');
    const response = await h.req('/v1/messages', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'fake/gpt-small',
        max_tokens: 100,
        stream: true,
        messages: ask('[[fake:chunks=20,cut_after=4]]'),
      }),
    });
    const text = await response.text();
    expect(text.match(/text_delta/g)?.length).toBe(4);
    expect(text).toEndWith('\n\n');
    expect(text).toContain('event: error\ndata: {"type":"error","error":{"type":"api_error"');
    const [row] = await rowsOf(account.id);
    expect(row?.outcome).toBe('failed');
    expect(row?.completion_tokens).toBe(4);
    expect(row?.charge_nanos).toBeGreaterThan(0n);
  });

  test('an upstream error event mid-stream reaches the client as an error event the SDK raises', async () => {
    const { key } = await h.customer('1.00');
    const stream = client(key).messages.stream({
      model: 'fake/gpt-small',
      max_tokens: 100,
      messages: ask('[[fake:chunks=10,stream_error_after=2]]'),
    });
    const error = await stream.finalMessage().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect(String(error)).toContain('overloaded_error');
  });

  test('a burst of concurrent streams on a small balance never takes the wallet below zero', async () => {
    const { key, account } = await h.customer('0.01');
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        client(key)
          .messages.stream({ model: 'fake/gpt-large', max_tokens: 200, messages: ask('burst [[fake:chunks=20]]') })
          .finalMessage(),
      ),
    );
    expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
    const balance = await settledBalance(account.walletId);
    expect(balance?.availableNanos).toBeGreaterThanOrEqual(0n);
  });

  test('no hold is left open, the ledger verifies clean, and no log line holds a key', async () => {
    await expectSettledAndSecretFree(h);
  });
});
