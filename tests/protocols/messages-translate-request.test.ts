import { describe, expect, test } from 'bun:test';
import { GatewayError } from '../../core/errors.ts';
import { messagesToChatRequest } from '../../protocols/messages/translate/request.ts';

const base = { model: 'anthropic/claude-sonnet-5.5', max_tokens: 1024 };

function refusal(body: Record<string, unknown>): GatewayError {
  try {
    messagesToChatRequest(body);
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('the body was translated');
}

describe('a Messages request as a chat request', () => {
  test('translates a plain user turn, sampling, stops, metadata and streaming', () => {
    const chat = messagesToChatRequest({
      ...base,
      messages: [{ role: 'user', content: 'Hello' }],
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ['END'],
      metadata: { user_id: '{"session":"s1"}' },
      stream: true,
    });
    expect(chat).toEqual({
      model: 'anthropic/claude-sonnet-5.5',
      max_tokens: 1024,
      messages: [{ role: 'user', content: 'Hello' }],
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      stop: ['END'],
      user: '{"session":"s1"}',
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  test('keeps cache_control breakpoints on the text parts of the system prompt and user turns', () => {
    const ephemeral = { type: 'ephemeral' };
    const chat = messagesToChatRequest({
      ...base,
      system: [
        { type: 'text', text: 'billing header' },
        { type: 'text', text: 'You are Claude Code.', cache_control: ephemeral },
      ],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', cache_control: ephemeral }] }],
    });
    expect(chat.messages).toEqual([
      {
        role: 'system',
        content: [
          { type: 'text', text: 'billing header' },
          { type: 'text', text: 'You are Claude Code.', cache_control: ephemeral },
        ],
      },
      { role: 'user', content: [{ type: 'text', text: 'hi', cache_control: ephemeral }] },
    ]);
  });

  test('joins system blocks without breakpoints into one string, and keeps a system message inside messages', () => {
    const chat = messagesToChatRequest({
      ...base,
      system: [
        { type: 'text', text: 'one' },
        { type: 'text', text: 'two' },
      ],
      messages: [
        { role: 'system', content: 'environment: linux' },
        { role: 'user', content: [{ type: 'text', text: 'hi' }] },
      ],
    });
    expect(chat.messages).toEqual([
      { role: 'system', content: 'one\n\ntwo' },
      { role: 'system', content: 'environment: linux' },
      { role: 'user', content: 'hi' },
    ]);
  });

  test('sends images (base64 and url) as image_url parts and documents as file or text parts', () => {
    const chat = messagesToChatRequest({
      ...base,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBER' } },
            { type: 'document', title: 'notes', source: { type: 'text', media_type: 'text/plain', data: 'abc' } },
            { type: 'text', text: 'What are these?' },
          ],
        },
      ],
    });
    expect(chat.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBOR' } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          { type: 'file', file: { filename: 'document.pdf', file_data: 'data:application/pdf;base64,JVBER' } },
          { type: 'text', text: 'notes\n\nabc' },
          { type: 'text', text: 'What are these?' },
        ],
      },
    ]);
  });

  test('turns tool_use into assistant tool_calls and tool_result into tool messages before the user text', () => {
    const chat = messagesToChatRequest({
      ...base,
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Two calls.', signature: 'sig1' },
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'toolu_2', name: 'weather', input: { city: 'Rome' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: '18 C' },
            {
              type: 'tool_result',
              tool_use_id: 'toolu_2',
              is_error: true,
              content: [{ type: 'text', text: 'no station' }],
            },
            { type: 'text', text: 'Thanks' },
          ],
        },
      ],
    });
    expect(chat.messages).toEqual([
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          { id: 'toolu_2', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } },
        ],
        reasoning_details: [
          { type: 'reasoning.text', text: 'Two calls.', signature: 'sig1', format: 'anthropic-claude-v1' },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_1', content: '18 C' },
      { role: 'tool', tool_call_id: 'toolu_2', content: 'Error: no station' },
      { role: 'user', content: 'Thanks' },
    ]);
  });

  test('moves the images of a tool result into a user message after the tool messages', () => {
    const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } };
    const chat = messagesToChatRequest({
      ...base,
      messages: [
        { role: 'user', content: 'Read the screenshot' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Read', input: { file_path: '/a.png' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [image] }] },
      ],
    });
    expect((chat.messages as unknown[]).slice(1)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 't1', type: 'function', function: { name: 'Read', arguments: '{"file_path":"/a.png"}' } }],
      },
      { role: 'tool', tool_call_id: 't1', content: '(1 attachment(s) follow in the next user message)' },
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBOR' } }] },
    ]);
  });

  test('translates tools, each tool_choice and the parallel-call switch', () => {
    const tools = [
      {
        name: 'Read',
        description: 'Reads a file',
        input_schema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' },
        cache_control: { type: 'ephemeral' },
      },
      { name: 'Grep', input_schema: { type: 'object' }, defer_loading: true },
    ];
    const messages = [{ role: 'user', content: 'hi' }];
    const chat = messagesToChatRequest({ ...base, messages, tools, tool_choice: { type: 'auto' } });
    expect(chat.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'Read',
          description: 'Reads a file',
          parameters: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' },
        },
      },
      { type: 'function', function: { name: 'Grep', parameters: { type: 'object' } } },
    ]);
    expect(chat.tool_choice).toBe('auto');
    const choose = (tool_choice: Record<string, unknown>) =>
      messagesToChatRequest({ ...base, messages, tools, tool_choice });
    expect(choose({ type: 'any' }).tool_choice).toBe('required');
    expect(choose({ type: 'none' }).tool_choice).toBe('none');
    const named = choose({ type: 'tool', name: 'Read', disable_parallel_tool_use: true });
    expect(named.tool_choice).toEqual({ type: 'function', function: { name: 'Read' } });
    expect(named.parallel_tool_calls).toBe(false);
  });

  test('maps thinking and effort to OpenRouter reasoning, and a JSON schema format to response_format', () => {
    const messages = [{ role: 'user', content: 'hi' }];
    const enabled = messagesToChatRequest({ ...base, messages, thinking: { type: 'enabled', budget_tokens: 31999 } });
    expect(enabled.reasoning).toEqual({ max_tokens: 31999 });
    const adaptive = messagesToChatRequest({
      ...base,
      messages,
      thinking: { type: 'adaptive' },
      output_config: { effort: 'medium' },
    });
    expect(adaptive.reasoning).toEqual({ effort: 'medium' });
    expect(messagesToChatRequest({ ...base, messages, thinking: { type: 'adaptive' } }).reasoning).toEqual({
      enabled: true,
    });
    expect(messagesToChatRequest({ ...base, messages, thinking: { type: 'disabled' } }).reasoning).toBeUndefined();
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    const formatted = messagesToChatRequest({
      ...base,
      messages,
      output_config: { format: { type: 'json_schema', schema } },
    });
    expect(formatted.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'output', schema, strict: true },
    });
  });

  test('ignores context_management, which only trims what Anthropic keeps server-side', () => {
    const chat = messagesToChatRequest({
      ...base,
      messages: [{ role: 'user', content: 'hi' }],
      context_management: { edits: [{ type: 'clear_tool_uses_20250919' }] },
    });
    expect(chat.context_management).toBeUndefined();
  });

  test('refuses what the chat side cannot carry, naming the field', () => {
    const messages = [{ role: 'user', content: 'hi' }];
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, messages, tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, 'tools[0].type'],
      [{ ...base, messages, mcp_servers: [] }, 'mcp_servers'],
      [{ ...base, messages, container: 'c1' }, 'container'],
      [
        {
          ...base,
          messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'file', file_id: 'f1' } }] }],
        },
        'messages[0].content[0].source.type',
      ],
      [
        {
          ...base,
          messages: [
            {
              role: 'user',
              content: [
                {
                  type: 'document',
                  citations: { enabled: true },
                  source: { type: 'text', media_type: 'text/plain', data: 'a' },
                },
              ],
            },
          ],
        },
        'messages[0].content[0].citations',
      ],
      [
        { ...base, messages: [{ role: 'assistant', content: [{ type: 'server_tool_use', id: 's', name: 'web' }] }] },
        'messages[0].content[0].type',
      ],
      [{ ...base, messages: [{ role: 'user', content: [{ type: 'search_result' }] }] }, 'messages[0].content[0].type'],
      [{ ...base, messages, output_config: { effort: 'extreme' } }, 'output_config.effort'],
      [{ ...base, messages, thinking: { type: 'enabled' } }, 'thinking.budget_tokens'],
      [{ ...base, messages, tool_choice: { type: 'sometimes' } }, 'tool_choice.type'],
    ];
    for (const [body, param] of cases) {
      const error = refusal(body);
      expect({ status: error.status, type: error.type, param: error.param }).toEqual({
        status: 400,
        type: 'invalid_request_error',
        param,
      });
      expect(error.message.length).toBeGreaterThan(10);
    }
  });
});
