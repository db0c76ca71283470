import { describe, expect, test } from 'bun:test';
import Anthropic from '@anthropic-ai/sdk';
import { GatewayError } from '../../core/errors.ts';
import { chatToMessagesResponse } from '../../protocols/messages/translate/response.ts';

const context = { model: 'anthropic/claude-sonnet-5.5', stopSequences: ['END'] };

function chat(message: Record<string, unknown>, finish: string, extra: Record<string, unknown> = {}) {
  return {
    id: 'gen-123',
    object: 'chat.completion',
    model: 'anthropic/claude-5.5-sonnet-20261001',
    choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish, ...extra }],
    usage: {
      prompt_tokens: 100,
      completion_tokens: 20,
      prompt_tokens_details: { cached_tokens: 60, cache_write_tokens: 10 },
      cost: 0.0012,
    },
  };
}

describe('a chat answer as a Messages answer', () => {
  test('carries reasoning, text and tool calls as thinking, text and tool_use blocks', () => {
    const answer = chatToMessagesResponse(
      chat(
        {
          content: 'Let me check.',
          reasoning: 'ignored when details come',
          reasoning_details: [{ type: 'reasoning.text', text: 'The user wants weather.', signature: 'sig' }],
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'clock', arguments: '' } },
          ],
        },
        'tool_calls',
      ),
      context,
    );
    expect(answer).toEqual({
      id: 'msg_gen-123',
      type: 'message',
      role: 'assistant',
      model: 'anthropic/claude-5.5-sonnet-20261001',
      content: [
        { type: 'thinking', thinking: 'The user wants weather.', signature: 'sig' },
        { type: 'text', text: 'Let me check.' },
        { type: 'tool_use', id: 'call_1', name: 'weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'call_2', name: 'clock', input: {} },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: {
        input_tokens: 30,
        output_tokens: 20,
        cache_read_input_tokens: 60,
        cache_creation_input_tokens: 10,
        cost: 0.0012,
      },
    });
  });

  test('maps every finish reason to its stop reason', () => {
    const stop = (finish: string, extra: Record<string, unknown> = {}) => {
      const answer = chatToMessagesResponse(chat({ content: 'x' }, finish, extra), context);
      return [answer.stop_reason, answer.stop_sequence];
    };
    expect(stop('stop')).toEqual(['end_turn', null]);
    expect(stop('length')).toEqual(['max_tokens', null]);
    expect(stop('tool_calls')).toEqual(['tool_use', null]);
    expect(stop('content_filter')).toEqual(['refusal', null]);
    expect(stop('stop', { stop_reason: 'END' })).toEqual(['stop_sequence', 'END']);
    expect(stop('stop', { native_finish_reason: 'stop_sequence' })).toEqual(['stop_sequence', 'END']);
  });

  test('takes a plain reasoning string as one thinking block, and reports no cache fields when none came', () => {
    const answer = chatToMessagesResponse(
      {
        id: 'gen-9',
        choices: [{ message: { content: 'Hi', reasoning: 'hmm' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 5, completion_tokens: 2 },
      },
      context,
    );
    // No model named upstream: the answer names the one asked for.
    expect(answer.model).toBe(context.model);
    expect(answer.content).toEqual([
      { type: 'thinking', thinking: 'hmm', signature: '' },
      { type: 'text', text: 'Hi' },
    ]);
    expect(answer.usage).toEqual({
      input_tokens: 5,
      output_tokens: 2,
      cache_creation_input_tokens: null,
      cache_read_input_tokens: null,
    });
  });

  test('refuses an answer whose tool arguments are not a JSON object, as the upstream’s fault', () => {
    const bad = chat({ tool_calls: [{ id: 'c', function: { name: 'weather', arguments: '{"city":' } }] }, 'tool_calls');
    expect(() => chatToMessagesResponse(bad, context)).toThrow(GatewayError);
    try {
      chatToMessagesResponse(bad, context);
    } catch (error) {
      expect((error as GatewayError).status).toBe(502);
    }
  });

  test('is a Message the Anthropic SDK reads as it reads its own', async () => {
    const body = chatToMessagesResponse(chat({ content: 'Hello there' }, 'stop'), context);
    const client = new Anthropic({
      apiKey: 'tg-test',
      baseURL: 'http://127.0.0.1:9',
      maxRetries: 0,
      fetch: async () => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } }),
    });
    const message = await client.messages.create({
      model: context.model,
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(message.content as unknown[]).toEqual([{ type: 'text', text: 'Hello there' }]);
    expect(message.usage.input_tokens).toBe(30);
    expect(message.stop_reason).toBe('end_turn');
  });
});
