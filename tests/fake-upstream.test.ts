import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import OpenAI, { APIError } from 'openai';
import { FAKE_MODELS, fakePromptTokens, startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';

const KEY = 'sk-or-fake-test-key';
let fake: FakeUpstream;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeUpstream({ apiKey: KEY });
  client = new OpenAI({ baseURL: fake.baseUrl, apiKey: KEY, maxRetries: 0 });
});
afterEach(() => fake.reset());
afterAll(() => fake.close());

const say = (content: string) => [{ role: 'user' as const, content }];

function post(
  path: string,
  body: unknown,
  { key = KEY, signal }: { key?: string; signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(fake.baseUrl + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
    signal,
  });
}

function get(path: string): Promise<Response> {
  return fetch(fake.baseUrl + path, { headers: { authorization: `Bearer ${KEY}` } });
}

async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 3000) throw new Error('condition not met within 3 s');
    await Bun.sleep(10);
  }
}

describe('chat completions', () => {
  test('answers N tokens with usage priced from the catalog', async () => {
    const body = { model: 'fake/gpt-small', messages: say('hello [[fake:chunks=3]]') };
    const completion = await client.chat.completions.create(body);
    expect(completion.id).toStartWith('gen-');
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message.content).toBe('tok0 tok1 tok2 ');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    const promptTokens = fakePromptTokens(body);
    expect(promptTokens).toBe(Math.ceil(Buffer.byteLength('hello [[fake:chunks=3]]') / 4) + 3);
    expect(completion.usage).toMatchObject({
      prompt_tokens: promptTokens,
      completion_tokens: 3,
      total_tokens: promptTokens + 3,
    });
    expect(fake.requests[0]).toMatchObject({ method: 'POST', path: '/api/v1/chat/completions', body });
    expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  test('streams the role, one chunk per token, the finish and a usage chunk when include_usage is set', async () => {
    const stream = await client.chat.completions.create({
      model: 'fake/gpt-large',
      messages: say('hi'),
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.slice(1, 6).map((c) => c.choices[0]?.delta.content)).toEqual([
      'tok0 ',
      'tok1 ',
      'tok2 ',
      'tok3 ',
      'tok4 ',
    ]);
    expect(chunks[6]?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks[7]?.choices).toEqual([]);
    expect(chunks[7]?.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 });
    expect(chunks).toHaveLength(8);
  });

  test('sends the processing comment and [DONE], and no usage unless asked', async () => {
    const text = await (
      await post('/chat/completions', { model: 'fake/gpt-small', messages: say('hi'), stream: true })
    ).text();
    expect(text).toStartWith(': OPENROUTER PROCESSING\n\ndata: {');
    expect(text).toEndWith('data: [DONE]\n\n');
    expect(text).not.toContain('usage');
    const accounted = await (
      await post('/chat/completions', {
        model: 'fake/gpt-small',
        messages: say('hi'),
        stream: true,
        usage: { include: true },
      })
    ).text();
    expect(accounted).toContain(
      '"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":5,"total_tokens":9,"cost":0.000014}',
    );
  });

  test('never produces more tokens than max_tokens and then finishes with length', async () => {
    const body = { model: 'fake/gpt-small', messages: say('[[fake:chunks=10]]'), max_tokens: 3 };
    const completion = await client.chat.completions.create(body);
    expect(completion.choices[0]?.message.content).toBe('tok0 tok1 tok2 ');
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.usage?.completion_tokens).toBe(3);
    const streamed = await client.chat.completions.create({
      ...body,
      max_tokens: undefined,
      max_completion_tokens: 2,
      stream: true,
    });
    const contents = [];
    for await (const chunk of streamed)
      if (chunk.choices[0]?.delta.content) contents.push(chunk.choices[0].delta.content);
    expect(contents).toEqual(['tok0 ', 'tok1 ']);
  });

  test('calls the first tool with {"city":"Paris"} when asked to', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object' } } }];
    const body = { model: 'fake/gpt-small', messages: say('weather? [[fake:tool_call]]'), tools };
    const completion = await client.chat.completions.create(body);
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(completion.choices[0]?.message.tool_calls?.[0]).toMatchObject({
      type: 'function',
      function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
    });
    let args = '';
    let finish: string | null | undefined;
    for await (const chunk of await client.chat.completions.create({ ...body, stream: true })) {
      args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '';
      finish ??= chunk.choices[0]?.finish_reason;
    }
    expect(args).toBe('{"city":"Paris"}');
    expect(finish).toBe('tool_calls');
  });

  test('holds one pause of pause_ms after the first token', async () => {
    const stream = await client.chat.completions.create({
      model: 'fake/gpt-small',
      messages: say('[[fake:pause_ms=300,chunks=2]]'),
      stream: true,
    });
    const arrivals: number[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) arrivals.push(performance.now());
    expect(arrivals).toHaveLength(2);
    expect((arrivals[1] ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(250);
  });
});

describe('failures', () => {
  test('answers status=500 before any output with an OpenRouter error carrying a provider secret', async () => {
    const failure: unknown = await client.chat.completions
      .create({ model: 'fake/gpt-small', messages: say('[[fake:status=500]]') })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(APIError);
    expect(failure).toMatchObject({ status: 500 });
    const body = await (
      await post('/chat/completions', { model: 'fake/gpt-small', messages: say('[[fake:status=500]]'), stream: true })
    ).json();
    expect(body).toMatchObject({ error: { code: 500, metadata: { provider_key: 'sk-upstream-SECRET' } } });
  });

  test('drops the connection after cut_after tokens, without finish, usage or [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: 'fake/gpt-small',
      messages: say('[[fake:cut_after=2]]'),
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    const read = async () => {
      for await (const chunk of stream) chunks.push(chunk);
    };
    await expect(read()).rejects.toThrow();
    await until(() => fake.active === 0);
    expect(chunks.map((c) => c.choices[0]?.delta.content)).toEqual(['', 'tok0 ', 'tok1 ']);
    expect(chunks.some((c) => c.usage || c.choices[0]?.finish_reason)).toBe(false);
    expect(fake.generations.get(chunks[0]?.id ?? '')).toMatchObject({
      completionTokens: 2,
      finishReason: null,
      cancelled: false,
    });
    expect(fake.aborted).toBe(0);
  });

  test('ends with an SSE error event after stream_error_after tokens', async () => {
    const stream = await client.chat.completions.create({
      model: 'fake/gpt-small',
      messages: say('[[fake:stream_error_after=1]]'),
      stream: true,
    });
    const contents: string[] = [];
    const read = async () => {
      for await (const chunk of stream)
        if (chunk.choices[0]?.delta.content) contents.push(chunk.choices[0].delta.content);
    };
    await expect(read()).rejects.toThrow('provider disconnected mid-stream');
    await until(() => fake.active === 0);
    expect(contents).toEqual(['tok0 ']);
  });

  test('hangs without headers until the client disconnects', async () => {
    const hung = post(
      '/chat/completions',
      { model: 'fake/gpt-small', messages: say('[[fake:hang]]') },
      { signal: AbortSignal.timeout(200) },
    );
    await until(() => fake.active === 1);
    await expect(hung).rejects.toThrow();
    await until(() => fake.aborted === 1 && fake.active === 0);
    expect(fake.generations.size).toBe(0);
  });

  test('refuses a missing key with 401, malformed JSON and bad directives with 400, unknown models with 400', async () => {
    expect(
      (await post('/chat/completions', { model: 'fake/gpt-small', messages: say('hi') }, { key: 'wrong' })).status,
    ).toBe(401);
    const malformed = await fetch(`${fake.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
      body: '{"model":',
    });
    expect(malformed.status).toBe(400);
    expect(fake.requests.at(-1)?.body).toBeNull();
    expect(
      (await post('/chat/completions', { model: 'fake/gpt-small', messages: say('[[fake:chunk=2]]') })).status,
    ).toBe(400);
    expect(await (await post('/chat/completions', { model: 'nope/x', messages: say('hi') })).json()).toEqual({
      error: { message: 'nope/x is not a valid model ID', code: 400 },
    });
  });
});

describe('accounting', () => {
  test('prints usage.cost as the exact decimal, never a float artifact', async () => {
    // One empty message is 3 prompt tokens: 3 × 0.000001 is 0.0000030000000000000005 in floats.
    const small = await (
      await post('/chat/completions', { model: 'fake/gpt-small', messages: say(''), max_tokens: 0 })
    ).text();
    expect(small).toContain('"usage":{"prompt_tokens":3,"completion_tokens":0,"total_tokens":3,"cost":0.000003}');
    // 'abcd' is 4 prompt tokens at 0.0000000375 plus 1 completion token at 0.00000015.
    const cheap = await (
      await post('/chat/completions', { model: 'fake/cheap', messages: say('abcd'), max_tokens: 1 })
    ).text();
    expect(cheap).toContain('"cost":0.0000003}');
    const noCost = await (
      await post('/chat/completions', { model: 'fake/cheap', messages: say('[[fake:no_cost]]') })
    ).json();
    expect(noCost).toHaveProperty('usage.total_tokens');
    expect(noCost).not.toHaveProperty('usage.cost');
    const noUsage = await (
      await post('/chat/completions', { model: 'fake/cheap', messages: say('[[fake:no_usage]]') })
    ).json();
    expect(noUsage).not.toHaveProperty('usage');
  });

  test('records an aborted stream as a cancelled generation with the tokens produced before the abort', async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'fake/gpt-large', messages: say('[[fake:chunks=20,delay_ms=150]]'), stream: true },
      { signal: controller.signal },
    );
    let id = '';
    let tokens = 0;
    const read = async () => {
      for await (const chunk of stream) {
        id = chunk.id;
        if (chunk.choices[0]?.delta.content && ++tokens === 3) controller.abort();
      }
    };
    // The SDK may end the iteration quietly or throw an abort error; either way the fake must see it.
    await read().catch(() => undefined);
    await until(() => fake.aborted === 1 && fake.active === 0);
    const lookup = await get(`/generation?id=${id}`);
    // prompt 3 + ceil(31 / 4) = 11 tokens × 0.000003 + 3 × 0.000015 = 0.000078
    expect(await lookup.text()).toStartWith('{"data":{"total_cost":0.000078,');
    expect(fake.generations.get(id)).toMatchObject({
      promptTokens: 11,
      completionTokens: 3,
      cancelled: true,
      streamed: true,
    });
    expect((await get('/generation?id=gen-unknown')).status).toBe(404);
  });

  test('applies defaults from setDefaults until reset', async () => {
    fake.setDefaults({ chunks: 1 });
    expect(
      (await client.chat.completions.create({ model: 'fake/gpt-small', messages: say('hi') })).usage?.completion_tokens,
    ).toBe(1);
    fake.reset();
    expect(fake.requests).toHaveLength(0);
    expect(
      (await client.chat.completions.create({ model: 'fake/gpt-small', messages: say('hi') })).usage?.completion_tokens,
    ).toBe(5);
  });
});

describe('other endpoints', () => {
  test('lists the catalog in OpenRouter format with prices as decimal strings', async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(FAKE_MODELS.map((m) => m.id));
    const catalog = (await (await get('/models')).json()) as { data: unknown[] };
    expect(catalog.data[3]).toMatchObject({
      id: 'fake/cheap',
      context_length: 32768,
      pricing: { prompt: '0.0000000375', completion: '0.00000015', request: '0', image: '0' },
      top_provider: { max_completion_tokens: 2048 },
    });
  });

  test('answers legacy completions for a prompt', async () => {
    const completion = await client.completions.create({ model: 'fake/gpt-small', prompt: 'abcdefgh', max_tokens: 2 });
    expect(completion.object).toBe('text_completion');
    expect(completion.choices[0]).toMatchObject({ text: 'tok0 tok1 ', finish_reason: 'length' });
    expect(completion.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 2 });
  });

  test('embeds each input into the same 8 floats whatever the encoding, with usage and cost', async () => {
    const decoded = await client.embeddings.create({ model: 'fake/embed', input: ['hello', 'world!'] });
    const floats = await client.embeddings.create({
      model: 'fake/embed',
      input: ['hello', 'world!'],
      encoding_format: 'float',
    });
    expect(decoded.data.map((d) => d.embedding)).toEqual(floats.data.map((d) => d.embedding));
    expect(floats.data[0]?.embedding).toHaveLength(8);
    expect(floats.data[0]?.embedding).not.toEqual(floats.data[1]?.embedding);
    expect(floats.usage).toEqual({ prompt_tokens: 4, total_tokens: 4, cost: 0.0000004 } as typeof floats.usage);
  });
});
