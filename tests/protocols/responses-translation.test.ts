import { describe, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { customToolNames } from '../../protocols/responses/chat-tools.ts';
import { GatewayError } from '../../core/errors.ts';
import type { TranslatedEvent } from '../../protocols/protocol.ts';
import { ChatToResponsesStream } from '../../protocols/responses/chat-stream.ts';
import { responsesErrors } from '../../protocols/responses/errors.ts';
import { chatToResponse } from '../../protocols/responses/from-chat.ts';
import { parseResponsesRequest, type ResponsesRequest } from '../../protocols/responses/request.ts';
import { responsesToChat } from '../../protocols/responses/to-chat.ts';
import {
  mayEndResponse,
  readResponsesUsage,
  responsesUsageOf,
  showCustomerCost,
} from '../../protocols/responses/usage.ts';

function request(body: Record<string, unknown>): ResponsesRequest {
  const result = parseResponsesRequest({ model: 'openai/gpt-5.5', ...body });
  if ('message' in result) throw new Error(result.message);
  return result;
}

function translated(body: Record<string, unknown>): Record<string, unknown> {
  const result = responsesToChat(request(body));
  if ('message' in result) throw new Error(result.message);
  return result.chat;
}

const USAGE = {
  prompt_tokens: 20,
  completion_tokens: 9,
  total_tokens: 29,
  prompt_tokens_details: { cached_tokens: 4 },
  completion_tokens_details: { reasoning_tokens: 3 },
  cost: 0.000123,
};

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'gen-1', model: 'openai/gpt-5.5', created: 1, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const usageChunk = `data: ${JSON.stringify({ id: 'gen-1', model: 'openai/gpt-5.5', created: 1, choices: [], usage: USAGE })}\n\n`;

/** A chat stream with reasoning, text split over chunks, and two tool calls with streamed arguments. */
const CHAT_STREAM = [
  ': OPENROUTER PROCESSING\n\n',
  chunk({ role: 'assistant', content: '' }),
  chunk({ reasoning: 'Let me ' }),
  chunk({ reasoning: 'think.' }),
  chunk({ content: 'Hel' }),
  chunk({ content: 'lo' }),
  chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'weather', arguments: '' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
  chunk({
    tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'apply_patch', arguments: '' } }],
  }),
  chunk({ tool_calls: [{ index: 1, function: { arguments: '{"input":"*** Begin Patch"}' } }] }),
  chunk({}, 'tool_calls'),
  usageChunk,
  'data: [DONE]\n\n',
].join('');

const TOOLS = [
  { type: 'function', name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
  { type: 'custom', name: 'apply_patch' },
];

/**
 * Plays a chat SSE stream through the translator as the relay does: each event's data in order,
 * null at [DONE]; an upstream error event, or the end without [DONE] (a cut), ends it with the
 * protocol's error events instead. Frames the events.
 */
function translateStream(req: ResponsesRequest, chat: string): string {
  const stream = new ChatToResponsesStream(req, new Set(['apply_patch']));
  let out = '';
  const frame = (events: readonly TranslatedEvent[]) => {
    for (const { event, data } of events) out += `event: ${event}\ndata: ${data}\n\n`;
  };
  for (const block of chat.split('\n\n')) {
    if (!block.startsWith('data: ')) continue;
    const data = block.slice(6);
    if (data === '[DONE]') {
      frame(stream.next(null));
      return out;
    }
    if (data.startsWith('{"error"')) break;
    frame(stream.next(data));
  }
  const failure = new GatewayError(
    502,
    'upstream_disconnected',
    'The upstream provider closed the stream unexpectedly.',
  );
  return out + new TextDecoder().decode(responsesErrors.event(failure));
}

/** An openai client whose every call is answered with `body` (SSE or JSON). */
function clientAnswering(body: string, contentType: string): OpenAI {
  return new OpenAI({
    apiKey: 'tg-test',
    baseURL: 'http://127.0.0.1:1/v1',
    maxRetries: 0,
    fetch: async () => new Response(body, { headers: { 'content-type': contentType } }),
  });
}

function events(sse: string): Record<string, unknown>[] {
  return sse
    .split('\n\n')
    .filter((block) => block.includes('data: '))
    .map((block) => JSON.parse(block.slice(block.indexOf('data: ') + 6)) as Record<string, unknown>);
}

describe('Responses to Chat Completions', () => {
  test('maps instructions, history, tools, structured output and reasoning', () => {
    const body = translated({
      instructions: 'Be brief.',
      input: [
        { role: 'developer', content: [{ type: 'input_text', text: 'dev' }] },
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'look' },
            { type: 'input_image', image_url: 'https://x/y.png', detail: 'low' },
          ],
        },
        { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'secret' },
        { role: 'assistant', content: [{ type: 'output_text', text: 'Calling.' }] },
        { type: 'function_call', call_id: 'c1', name: 'weather', arguments: '{"city":"Paris"}' },
        { type: 'custom_tool_call', call_id: 'c2', name: 'apply_patch', input: 'patch' },
        { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
        { type: 'custom_tool_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'applied' }] },
      ],
      tools: TOOLS,
      tool_choice: { type: 'function', name: 'weather' },
      parallel_tool_calls: false,
      temperature: 0.5,
      max_output_tokens: 100,
      reasoning: { effort: 'low', summary: 'auto' },
      text: { format: { type: 'json_schema', name: 'w', schema: { type: 'object' }, strict: true } },
      stream: true,
    });
    expect(customToolNames(TOOLS)).toEqual(new Set(['apply_patch']));
    expect(body.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'system', content: 'dev' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'look' },
          { type: 'image_url', image_url: { url: 'https://x/y.png', detail: 'low' } },
        ],
      },
      {
        role: 'assistant',
        content: 'Calling.',
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          { id: 'c2', type: 'function', function: { name: 'apply_patch', arguments: '{"input":"patch"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'c2', content: 'applied' },
    ]);
    expect(body).toMatchObject({
      model: 'openai/gpt-5.5',
      tool_choice: { type: 'function', function: { name: 'weather' } },
      parallel_tool_calls: false,
      temperature: 0.5,
      max_tokens: 100,
      reasoning: { effort: 'low' },
      response_format: { type: 'json_schema', json_schema: { name: 'w', schema: { type: 'object' }, strict: true } },
      stream: true,
      stream_options: { include_usage: true },
    });
    const tools = body.tools as { function: { name: string; parameters: unknown } }[];
    expect(tools.map((t) => t.function.name)).toEqual(['weather', 'apply_patch']);
    expect(tools[1]?.function.parameters).toMatchObject({ required: ['input'] });
  });

  test('hides reasoning text unless summaries are asked for', () => {
    expect(translated({ input: 'x', reasoning: { effort: 'high' } }).reasoning).toEqual({
      effort: 'high',
      exclude: true,
    });
  });

  test('refuses built-in tools, stored files and item references with their param', () => {
    const refused = (body: Record<string, unknown>) => {
      const result = responsesToChat(request(body));
      if (!('message' in result)) throw new Error('expected a refusal');
      return result;
    };
    const web = refused({ input: 'x', tools: [...TOOLS, { type: 'web_search' }] });
    expect(web.param).toBe('tools[2]');
    expect(web.message).toContain('web_search');
    expect(refused({ input: 'x', tool_choice: { type: 'web_search_preview' } }).param).toBe('tool_choice');
    expect(refused({ input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1' }] }] }).param).toBe(
      'input[0].content[0]',
    );
    expect(refused({ input: [{ type: 'web_search_call', id: 'ws_1' }] }).param).toBe('input[0]');
  });
});

describe('Chat Completions answers as Responses', () => {
  test('a whole answer becomes the Responses object the SDK reads', async () => {
    const req = request({ input: 'hi', tools: TOOLS, reasoning: { summary: 'auto' } });
    const chat = {
      id: 'gen-2',
      model: 'openai/gpt-5.5',
      created: 7,
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: 'Checking.',
            reasoning: 'Needs a tool.',
            tool_calls: [
              { id: 'call_a', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
              { id: 'call_b', type: 'function', function: { name: 'apply_patch', arguments: '{"input":"P"}' } },
            ],
          },
        },
      ],
      usage: USAGE,
    };
    const body = JSON.stringify(chatToResponse(req, chat, new Set(['apply_patch'])));
    const response = await clientAnswering(body, 'application/json').responses.create({
      model: 'openai/gpt-5.5',
      input: 'hi',
    });
    expect(response.status).toBe('completed');
    expect(response.output_text).toBe('Checking.');
    expect(response.output.map((item) => item.type)).toEqual([
      'reasoning',
      'message',
      'function_call',
      'custom_tool_call',
    ]);
    expect(response.output[2]).toMatchObject({ call_id: 'call_a', name: 'weather', arguments: '{"city":"Paris"}' });
    expect(response.output[3]).toMatchObject({ call_id: 'call_b', name: 'apply_patch', input: 'P' });
    expect(response.usage).toMatchObject({
      input_tokens: 20,
      input_tokens_details: { cached_tokens: 4 },
      output_tokens: 9,
      output_tokens_details: { reasoning_tokens: 3 },
      total_tokens: 29,
    });
  });

  test('a length finish is incomplete for max_output_tokens', () => {
    const chat = { id: 'g', choices: [{ finish_reason: 'length', message: { content: 'cut' } }] };
    expect(chatToResponse(request({ input: 'x' }), chat, new Set())).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
    });
  });
});

describe('Chat Completions streams as Responses events', () => {
  const req = request({ input: 'hi', tools: TOOLS, reasoning: { summary: 'auto' }, stream: true });

  test('the openai SDK’s stream helper assembles the final response from them', async () => {
    const sse = translateStream(req, CHAT_STREAM);
    const stream = clientAnswering(sse, 'text/event-stream').responses.stream({ model: 'openai/gpt-5.5', input: 'hi' });
    const deltas: string[] = [];
    const argumentDeltas: string[] = [];
    const summaries: string[] = [];
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
    stream.on('response.function_call_arguments.delta', (event) => argumentDeltas.push(event.delta));
    stream.on('response.reasoning_summary_text.delta', (event) => summaries.push(event.delta));
    const final = await stream.finalResponse();
    expect(deltas).toEqual(['Hel', 'lo']);
    expect(argumentDeltas).toEqual(['{"city":', '"Paris"}']);
    expect(summaries).toEqual(['Let me ', 'think.']);
    expect(final.status).toBe('completed');
    expect(final.output_text).toBe('Hello');
    expect(final.output.map((item) => item.type)).toEqual([
      'reasoning',
      'message',
      'function_call',
      'custom_tool_call',
    ]);
    expect(final.output[0]).toMatchObject({ summary: [{ type: 'summary_text', text: 'Let me think.' }] });
    expect(final.output[2]).toMatchObject({ name: 'weather', call_id: 'call_a', arguments: '{"city":"Paris"}' });
    expect(final.output[3]).toMatchObject({ name: 'apply_patch', call_id: 'call_b', input: '*** Begin Patch' });
    expect(final.usage).toMatchObject({
      input_tokens: 20,
      output_tokens: 9,
      output_tokens_details: { reasoning_tokens: 3 },
    });
  });

  test('every item ends with output_item.done carrying it whole, and sequence numbers count up', () => {
    const all = events(translateStream(req, CHAT_STREAM));
    expect(all.map((e) => e.sequence_number)).toEqual(all.map((_, i) => i));
    const done = all.filter((e) => e.type === 'response.output_item.done');
    expect(done.map((e) => (e.item as { type: string }).type)).toEqual([
      'reasoning',
      'message',
      'function_call',
      'custom_tool_call',
    ]);
    expect(all[0]?.type).toBe('response.created');
    expect(all.at(-1)?.type).toBe('response.completed');
  });

  test('a length finish ends with response.incomplete', async () => {
    const chat = chunk({ content: 'abc' }) + chunk({}, 'length') + usageChunk + 'data: [DONE]\n\n';
    const all = events(translateStream(req, chat));
    expect(all.at(-1)).toMatchObject({
      type: 'response.incomplete',
      response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } },
    });
  });

  test('a cut or an upstream error ends with an error event the SDK raises, then response.failed', async () => {
    const failing = `${chunk({ content: 'ab' })}data: {"error":{"code":502,"message":"provider died"}}\n\n`;
    for (const chat of [failing, chunk({ content: 'ab' })]) {
      const sse = translateStream(req, chat);
      const all = events(sse);
      expect(all.at(-2)).toMatchObject({ type: 'error', code: 'upstream_disconnected' });
      expect(all.at(-1)).toMatchObject({
        type: 'response.failed',
        response: { status: 'failed', error: { code: 'upstream_disconnected' } },
      });
      const stream = clientAnswering(sse, 'text/event-stream').responses.stream({ model: 'm', input: 'hi' });
      const error = await stream.finalResponse().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain('closed the stream');
    }
  });

  test('nothing follows the end', () => {
    const stream = new ChatToResponsesStream(req, new Set());
    expect(stream.next(null).map((e) => e.event)).toEqual([
      'response.created',
      'response.in_progress',
      'response.completed',
    ]);
    expect(stream.next(chunk({ content: 'late' }).slice(6, -2))).toEqual([]);
    expect(stream.next(null)).toEqual([]);
  });
});

describe('native Responses usage', () => {
  const usage = {
    input_tokens: 30,
    input_tokens_details: { cached_tokens: 10 },
    output_tokens: 12,
    output_tokens_details: { reasoning_tokens: 5 },
    total_tokens: 42,
    cost: 0.5,
    is_byok: false,
    cost_details: { upstream_inference_cost: 0.5 },
  };

  test('is read from a whole response and from the events that end a stream', () => {
    expect(responsesUsageOf({ id: 'resp_1', usage })).toBe(usage);
    expect(responsesUsageOf({ type: 'response.completed', response: { usage } })).toBe(usage);
    expect(responsesUsageOf({ type: 'response.incomplete', response: { usage } })).toBe(usage);
    expect(responsesUsageOf({ type: 'response.output_item.done', item: { usage } })).toBeUndefined();
    expect(readResponsesUsage(usage)).toEqual({
      promptTokens: 30,
      completionTokens: 12,
      upstreamCostFemtos: 500_000_000_000_000n,
    });
    expect(readResponsesUsage({ input_tokens: -1, output_tokens: 2 })).toBeUndefined();
    expect(mayEndResponse('{"type":"response.completed","response":{}}')).toBe(true);
    expect(mayEndResponse('{"type":"response.output_text.delta"}')).toBe(false);
  });

  test('shows the customer their own price, never the upstream’s', () => {
    const copy: Record<string, unknown> = structuredClone(usage);
    showCustomerCost(copy, 0.6);
    expect(copy).toEqual({ ...usage, cost: 0.6, is_byok: undefined, cost_details: undefined });
    expect('cost_details' in copy || 'is_byok' in copy).toBe(false);
    showCustomerCost(copy, undefined);
    expect('cost' in copy).toBe(false);
  });
});
