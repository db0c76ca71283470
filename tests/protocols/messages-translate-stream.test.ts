import { describe, expect, test } from 'bun:test';
import Anthropic from '@anthropic-ai/sdk';
import { ChatToMessagesEvents } from '../../protocols/messages/translate/stream.ts';
import type { TranslatedEvent } from '../../protocols/protocol.ts';

const context = { model: 'anthropic/claude-sonnet-5.5', stopSequences: [] };

const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({ id: 'gen-42', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
const usageChunk = (usage: Record<string, unknown>) =>
  `data: ${JSON.stringify({ id: 'gen-42', object: 'chat.completion.chunk', choices: [], usage })}\n\n`;
const USAGE = { prompt_tokens: 50, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 20 }, cost: 0.0003 };

/**
 * Runs a chat stream through a translation as the relay does: each event's data in order, then
 * null at the end of the body; returns the Messages SSE text, framed as the relay frames it.
 */
function translate(chat: string) {
  const translation = new ChatToMessagesEvents(context);
  const out: TranslatedEvent[] = [];
  for (const block of chat.split('\n\n')) {
    const line = block.split('\n').find((l) => l.startsWith('data: '));
    if (line === undefined) continue;
    const data = line.slice(6);
    // The relay ends a chat stream at [DONE] itself: the translation sees the clean end.
    out.push(...translation.next(data === '[DONE]' ? null : data));
  }
  out.push(...translation.next(null));
  return out.map(({ event, data }) => `event: ${event}\ndata: ${data}\n\n`).join('');
}

function events(sse: string): Record<string, unknown>[] {
  return sse
    .split('\n\n')
    .filter((block) => block.includes('data: '))
    .map((block) => JSON.parse(block.slice(block.indexOf('data: ') + 6)) as Record<string, unknown>);
}

/** What the official SDK makes of the translated stream: the message its accumulator builds. */
function sdkStream(sse: string) {
  const client = new Anthropic({
    apiKey: 'tg-test',
    baseURL: 'http://127.0.0.1:9',
    maxRetries: 0,
    fetch: async () => new Response(sse, { headers: { 'content-type': 'text/event-stream' } }),
  });
  return client.messages.stream({ model: context.model, max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
}

const TEXT_STREAM =
  chunk({ role: 'assistant', content: '' }) +
  ': OPENROUTER PROCESSING\n\n' +
  chunk({ content: 'Héllo ' }) +
  chunk({ content: 'wörld 🌍' }) +
  chunk({}, 'stop') +
  usageChunk(USAGE) +
  'data: [DONE]\n\n';

describe('a chat stream as a Messages stream', () => {
  test('emits the Anthropic event sequence for a text answer, with the usage at the end', () => {
    const text = translate(TEXT_STREAM);
    expect(events(text).map((event) => event.type)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(text).toContain('event: message_start\ndata: {"type":"message_start"');
    const delta = events(text).find((event) => event.type === 'message_delta');
    expect(delta).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: {
        input_tokens: 30,
        output_tokens: 7,
        cache_creation_input_tokens: null,
        cache_read_input_tokens: 20,
        cost: 0.0003,
      },
    });
  });

  test('is assembled by the SDK into the message a native stream gives', async () => {
    const message = await sdkStream(translate(TEXT_STREAM)).finalMessage();
    expect(message.id).toBe('msg_gen-42');
    expect(message.content as unknown[]).toEqual([{ type: 'text', text: 'Héllo wörld 🌍' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage.input_tokens).toBe(30);
    expect(message.usage.output_tokens).toBe(7);
    expect(message.usage.cache_read_input_tokens).toBe(20);
  });

  test('streams thinking with its signature, then the text', async () => {
    const chat =
      chunk({ reasoning: 'Think', reasoning_details: [{ type: 'reasoning.text', text: 'Think' }] }) +
      chunk({ reasoning: 'ing.', reasoning_details: [{ type: 'reasoning.text', text: 'ing.', signature: 'sig-9' }] }) +
      chunk({ reasoning_content: 'plain' }) +
      chunk({ content: 'Answer' }) +
      chunk({}, 'stop') +
      'data: [DONE]\n\n';
    const message = await sdkStream(translate(chat)).finalMessage();
    expect(message.content as unknown[]).toEqual([
      { type: 'thinking', thinking: 'Thinking.', signature: 'sig-9' },
      { type: 'thinking', thinking: 'plain', signature: '' },
      { type: 'text', text: 'Answer' },
    ]);
  });

  test('streams parallel tool calls, each its own block, arguments as input_json_delta', async () => {
    const call = (index: number, fn: Record<string, unknown>, id?: string) =>
      chunk({ tool_calls: [{ index, ...(id ? { id, type: 'function' } : {}), function: fn }] });
    const chat =
      chunk({ content: 'Checking both.' }) +
      call(0, { name: 'weather', arguments: '' }, 'call_a') +
      call(0, { arguments: '{"city":' }) +
      call(0, { arguments: '"Paris"}' }) +
      call(1, { name: 'weather', arguments: '{"city":"Rome"}' }, 'call_b') +
      chunk({}, 'tool_calls') +
      usageChunk(USAGE) +
      'data: [DONE]\n\n';
    const text = translate(chat);
    const deltas = events(text).filter((event) => event.type === 'content_block_delta');
    expect(deltas.map((event) => [event.index, (event.delta as { type: string }).type])).toEqual([
      [0, 'text_delta'],
      [1, 'input_json_delta'],
      [1, 'input_json_delta'],
      [2, 'input_json_delta'],
    ]);
    const message = await sdkStream(text).finalMessage();
    expect(message.content as unknown[]).toEqual([
      { type: 'text', text: 'Checking both.' },
      { type: 'tool_use', id: 'call_a', name: 'weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: 'call_b', name: 'weather', input: { city: 'Rome' } },
    ]);
    expect(message.stop_reason).toBe('tool_use');
  });

  test('refuses, as an error event, parallel tool calls whose arguments the upstream interleaves', () => {
    const call = (index: number, args: string, id?: string) =>
      chunk({
        tool_calls: [
          { index, ...(id ? { id, function: { name: 'f', arguments: args } } : { function: { arguments: args } }) },
        ],
      });
    const text = translate(call(0, '{"a":', 'c0') + call(1, '{}', 'c1') + call(0, '1}') + chunk({}, 'tool_calls'));
    expect(events(text).at(-1)).toEqual({
      type: 'error',
      error: { type: 'api_error', message: 'The upstream interleaved the arguments of parallel tool calls.' },
    });
  });

  test('streams an encrypted reasoning detail as a redacted_thinking block', async () => {
    const chat =
      chunk({ reasoning_details: [{ type: 'reasoning.encrypted', data: 'opaque' }] }) +
      chunk({ content: 'Done' }) +
      chunk({}, 'stop');
    const message = await sdkStream(translate(chat)).finalMessage();
    expect(message.content as unknown[]).toEqual([
      { type: 'redacted_thinking', data: 'opaque' },
      { type: 'text', text: 'Done' },
    ]);
  });

  test('ends a stream cut before its finish reason with an error event, which the SDK raises', async () => {
    const text = translate(chunk({ content: 'Half an ans' }));
    const last = events(text).at(-1);
    expect(last).toEqual({
      type: 'error',
      error: { type: 'api_error', message: 'The upstream provider closed the stream before the answer was complete.' },
    });
    expect(events(text).map((event) => event.type)).toContain('content_block_stop');
    await expect(sdkStream(text).finalMessage()).rejects.toThrow(Anthropic.APIError);
  });

  test('turns an upstream error chunk into an error event of the matching type, and stops there', () => {
    const chat =
      chunk({ content: 'a' }) +
      `data: ${JSON.stringify({ error: { message: 'Provider overloaded', code: 529 } })}\n\n` +
      chunk({ content: 'never shown' });
    const text = translate(chat);
    expect(events(text).at(-1)).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Provider overloaded' },
    });
    expect(text).not.toContain('never shown');
  });

  test('finishes a stream whose upstream ends its body after the finish reason without [DONE]', () => {
    const text = translate(chunk({ content: 'ok' }, 'length') + usageChunk(USAGE));
    expect(events(text).at(-2)).toMatchObject({ type: 'message_delta', delta: { stop_reason: 'max_tokens' } });
    expect(events(text).at(-1)).toEqual({ type: 'message_stop' });
  });
});
