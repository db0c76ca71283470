import { describe, expect, test } from 'bun:test';
import { MESSAGE_OVERHEAD_TOKENS, REQUEST_OVERHEAD_TOKENS } from '../../core/prompt-bound.ts';
import { applyResponsesHeldLimit, responsesPromptBound } from '../../protocols/responses/prompt-bound.ts';
import { parseResponsesRequest, type ResponsesRequest } from '../../protocols/responses/request.ts';

function parsed(body: Record<string, unknown>): ResponsesRequest {
  const result = parseResponsesRequest(body);
  if ('message' in result) throw new Error(result.message);
  return result;
}

function problemOf(body: unknown): { message: string; param: string | null } {
  const result = parseResponsesRequest(body);
  if (!('message' in result)) throw new Error('expected a problem');
  return result;
}

/** What Codex sends on its first turn (docs/agentic-clients: no instructions, no max_output_tokens). */
const CODEX_BODY = {
  model: 'openai/gpt-5.5',
  stream: true,
  input: [
    { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'You are Codex.' }] },
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'List the files.' }] },
  ],
  tools: [
    { type: 'function', name: 'exec_command', parameters: { type: 'object', properties: { cmd: { type: 'string' } } } },
    { type: 'custom', name: 'apply_patch', format: { type: 'grammar', syntax: 'lark', definition: 'start: "x"' } },
    { type: 'web_search' },
  ],
  tool_choice: 'auto',
  parallel_tool_calls: true,
  reasoning: { effort: 'medium' },
  store: false,
  include: ['reasoning.encrypted_content'],
  prompt_cache_key: 'abc',
  text: { verbosity: 'low' },
};

describe('Responses request validation', () => {
  test('accepts what Codex, the Agents SDK and the openai SDK send', () => {
    const codex = parsed(CODEX_BODY);
    expect(codex).toMatchObject({ model: 'openai/gpt-5.5', stream: true, maxOutputTokens: null });
    expect(codex.wantsReasoningSummary).toBe(false);
    const agents = parsed({
      model: 'm',
      instructions: 'Be brief.',
      input: [{ role: 'user', content: 'hi' }],
      include: [],
      tools: [{ type: 'function', name: 'weather', parameters: { type: 'object' }, strict: true }],
    });
    expect(agents.stream).toBe(false);
    expect(parsed({ model: 'm', input: 'hi', max_output_tokens: 50 }).maxOutputTokens).toBe(50);
  });

  test('accepts a whole history: tool calls, their outputs, reasoning items and images', () => {
    const request = parsed({
      model: 'm',
      reasoning: { effort: 'high', summary: 'auto' },
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'What is this?' },
            { type: 'input_image', image_url: 'data:image/png;base64,AAAA' },
            { type: 'input_file', filename: 'a.pdf', file_data: 'data:application/pdf;base64,AAAA' },
          ],
        },
        { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'hm' }], encrypted_content: 'xyz' },
        { type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'done' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'ok' }] },
      ],
    });
    expect(request.wantsReasoningSummary).toBe(true);
  });

  test('names the offending param of each malformed field', () => {
    expect(problemOf([]).param).toBeNull();
    expect(problemOf({ input: 'hi' }).param).toBe('model');
    expect(problemOf({ model: 'm' }).param).toBe('input');
    expect(problemOf({ model: 'm', input: [] }).param).toBe('input');
    expect(problemOf({ model: 'm', input: [{ role: 'robot', content: 'x' }] }).param).toBe('input[0].role');
    expect(problemOf({ model: 'm', input: [{ role: 'user', content: 5 }] }).param).toBe('input[0].content');
    expect(problemOf({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_text' }] }] }).param).toBe(
      'input[0].content[0].text',
    );
    expect(problemOf({ model: 'm', input: [{ type: 'function_call', name: 'f', arguments: '{}' }] }).param).toBe(
      'input[0].call_id',
    );
    expect(problemOf({ model: 'm', input: 'x', tools: [{ type: 'function' }] }).param).toBe('tools[0].name');
    expect(problemOf({ model: 'm', input: 'x', tool_choice: 'sometimes' }).param).toBe('tool_choice');
    expect(problemOf({ model: 'm', input: 'x', max_output_tokens: 0 }).param).toBe('max_output_tokens');
    expect(problemOf({ model: 'm', input: 'x', temperature: 3 }).param).toBe('temperature');
    expect(problemOf({ model: 'm', input: 'x', top_p: 'high' }).param).toBe('top_p');
    expect(problemOf({ model: 'm', input: 'x', stream: 'yes' }).param).toBe('stream');
    expect(problemOf({ model: 'm', input: 'x', metadata: [] }).param).toBe('metadata');
    expect(problemOf({ model: 'm', input: 'x', reasoning: { effort: 3 } }).param).toBe('reasoning.effort');
    expect(problemOf({ model: 'm', input: 'x', text: { format: { type: 'json_schema' } } }).param).toBe('text.format');
    expect(problemOf({ model: 'm', input: 'x', text: { format: { type: 'xml' } } }).param).toBe('text.format.type');
    expect(problemOf({ model: 'm', input: 'x', instructions: ['a'] }).param).toBe('instructions');
  });

  test('refuses stored state and says to send the whole conversation', () => {
    const previous = problemOf({ model: 'm', input: 'x', previous_response_id: 'resp_1' });
    expect(previous.param).toBe('previous_response_id');
    expect(previous.message).toContain('send the whole conversation in input');
    expect(problemOf({ model: 'm', input: 'x', conversation: 'conv_1' }).param).toBe('conversation');
    expect(problemOf({ model: 'm', input: 'x', background: true }).param).toBe('background');
    expect(problemOf({ model: 'm', input: [{ type: 'item_reference', id: 'msg_1' }] }).param).toBe('input[0]');
  });
});

describe('the Responses prompt bound', () => {
  test('is at least the UTF-8 bytes of everything the model reads, plus the overheads', () => {
    const body = {
      model: 'm',
      instructions: 'Système',
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'héllo' }] },
        { type: 'function_call', call_id: 'c', name: 'f', arguments: '{"a":1}' },
        { type: 'function_call_output', call_id: 'c', output: 'result' },
        { type: 'reasoning', summary: [{ type: 'summary_text', text: 'think' }], encrypted_content: 'QUJD' },
      ],
    };
    const bound = responsesPromptBound(body);
    const texts = ['Système', 'héllo', 'result', 'think', 'QUJD', '"a":1'];
    const bytes = texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
    expect(bound.textBytes).toBeGreaterThan(bytes);
    expect(bound.messages).toBe(5);
    expect(bound.tokens).toBe(bound.textBytes + 5 * MESSAGE_OVERHEAD_TOKENS + REQUEST_OVERHEAD_TOKENS);
  });

  test('counts tools and the output format, and prices images and files per item', () => {
    const plain = responsesPromptBound({ input: 'hi' });
    expect(plain).toEqual({
      tokens: 2 + MESSAGE_OVERHEAD_TOKENS + REQUEST_OVERHEAD_TOKENS,
      textBytes: 2,
      messages: 1,
      mediaItems: 0,
    });
    const rich = responsesPromptBound({
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'hi' },
            { type: 'input_image', image_url: 'https://x/y.png' },
            { type: 'input_file', file_data: 'data:application/pdf;base64,AAAA' },
          ],
        },
      ],
      tools: CODEX_BODY.tools,
      text: { format: { type: 'json_schema', name: 'x', schema: { type: 'object' } } },
    });
    expect(rich.mediaItems).toBe(2);
    expect(rich.textBytes).toBe(
      2 +
        JSON.stringify(CODEX_BODY.tools).length +
        JSON.stringify({ format: { type: 'json_schema', name: 'x', schema: { type: 'object' } } }).length,
    );
  });

  test('writes the held output limit into max_output_tokens', () => {
    const body: Record<string, unknown> = { model: 'm', input: 'x' };
    applyResponsesHeldLimit(body, { output: 1_234, reasoning: 0 });
    expect(body.max_output_tokens).toBe(1_234);
  });
});
