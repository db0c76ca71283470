import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { fakeResponsesInputTokens, startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';

let fake: FakeUpstream;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeUpstream();
  client = new OpenAI({ apiKey: 'x', baseURL: fake.baseUrl, maxRetries: 0 });
});
afterAll(() => fake.close());

const weather = {
  type: 'function' as const,
  name: 'weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } } },
  strict: false,
};

describe('the fake upstream’s Responses endpoint', () => {
  test('answers a plain request with OpenRouter’s usage and cost', async () => {
    const response = await client.responses.create({ model: 'fake/gpt-small', input: 'hello there' });
    expect(response.output_text).toBe('tok0 tok1 tok2 tok3 tok4 ');
    const input = fakeResponsesInputTokens({ input: 'hello there' });
    expect(response.usage).toMatchObject({ input_tokens: input, output_tokens: 5, total_tokens: input + 5 });
    expect((response.usage as unknown as { cost: number }).cost).toBeCloseTo(input * 0.000001 + 5 * 0.000002, 12);
  });

  test('streams events the SDK accumulates: reasoning summary, function call, incomplete', async () => {
    const stream = client.responses.stream({
      model: 'fake/gpt-small',
      input: 'weather? [[fake:tool_call]]',
      tools: [weather],
      reasoning: { summary: 'auto' },
    });
    const final = await stream.finalResponse();
    expect(final.output.map((item) => item.type)).toEqual(['reasoning', 'function_call']);
    expect(final.output[1]).toMatchObject({ name: 'weather', arguments: '{"city":"Paris"}' });
    expect(final.usage).toMatchObject({ output_tokens: 6, output_tokens_details: { reasoning_tokens: 2 } });
    const short = await client.responses
      .stream({ model: 'fake/gpt-small', input: 'x', max_output_tokens: 2 })
      .finalResponse();
    expect(short.status).toBe('incomplete');
    expect(short.output_text).toBe('tok0 tok1 ');
  });

  test('structured output answers JSON text', async () => {
    const response = await client.responses.create({
      model: 'fake/gpt-small',
      input: 'x',
      text: { format: { type: 'json_schema', name: 'a', schema: { type: 'object' } } },
    });
    expect(JSON.parse(response.output_text)).toEqual({ answer: 'ok' });
  });

  test('a stream error ends with response.failed', async () => {
    const types: string[] = [];
    const stream = await client.responses.create({
      model: 'fake/gpt-small',
      input: '[[fake:stream_error_after=2]]',
      stream: true,
    });
    for await (const event of stream) types.push(event.type);
    expect(types.at(-1)).toBe('response.failed');
    expect(types.filter((t) => t === 'response.output_text.delta')).toHaveLength(2);
  });
});
