import { isRecord } from '../../core/billed-request.ts';
import { CUSTOM_TOOL_INPUT } from './chat-tools.ts';
import type { ResponsesRequest } from './request.ts';

/**
 * A Chat Completions answer as a Responses object: the reasoning (where the upstream exposes it
 * and the client asked for summaries) as a reasoning item, the text as a message item, each tool
 * call as a function call item (a custom tool's call as a custom tool call). A `length` finish is
 * `incomplete` for `max_output_tokens`, as OpenAI reports it. The stream translator
 * (chat-stream.ts) builds the same objects event by event.
 */

export type ResponseObject = Record<string, unknown>;
type Item = Record<string, unknown>;

export type ItemIds = { response: string; item(prefix: 'msg' | 'rs' | 'fc', outputIndex: number): string };

/**
 * The ids of one response and its items. The response keeps the upstream's id (a generation id on
 * OpenRouter), so reconciliation finds its generation record; items derive from it, unique per answer.
 */
export function itemIds(chatId: string): ItemIds {
  const response = chatId === '' ? `resp_${Bun.randomUUIDv7()}` : chatId;
  const base = response.replace(/[^A-Za-z0-9_-]/g, '');
  return { response, item: (prefix, outputIndex) => `${prefix}_${base}_${outputIndex}` };
}

/** What a chat answer's finish reason makes of the response's status. */
export function finishState(finishReason: unknown): {
  status: 'completed' | 'incomplete';
  incomplete_details: { reason: string } | null;
} {
  if (finishReason === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (finishReason === 'content_filter')
    return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

/**
 * A chat count as it came, garbage included: the meter's reading (core/reported-usage.ts) refuses a
 * negative, fractional or infinite count and settles by the estimate, as it does for native chat.
 */
const count = (value: unknown): number => (typeof value === 'number' ? value : 0);

/** Chat usage in Responses' words; the cost (already the customer's price) is carried over. */
export function responsesUsage(usage: unknown): Record<string, unknown> | null {
  if (!isRecord(usage)) return null;
  const prompt = isRecord(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const completion = isRecord(usage.completion_tokens_details) ? usage.completion_tokens_details : {};
  const result: Record<string, unknown> = {
    input_tokens: count(usage.prompt_tokens),
    input_tokens_details: { cached_tokens: count(prompt.cached_tokens) },
    output_tokens: count(usage.completion_tokens),
    output_tokens_details: { reasoning_tokens: count(completion.reasoning_tokens) },
    total_tokens: count(usage.total_tokens) || count(usage.prompt_tokens) + count(usage.completion_tokens),
  };
  if (typeof usage.cost === 'number') result.cost = usage.cost;
  return result;
}

/** The response object before its output: the request's settings echoed, as OpenAI answers them. */
export function responseShell(request: ResponsesRequest, id: string, model: string, createdAt: number): ResponseObject {
  const body = request.body;
  const echo = (field: string, fallback: unknown) => body[field] ?? fallback;
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status: 'in_progress',
    error: null,
    incomplete_details: null,
    instructions: echo('instructions', null),
    max_output_tokens: echo('max_output_tokens', null),
    model,
    output: [],
    parallel_tool_calls: echo('parallel_tool_calls', true),
    previous_response_id: null,
    reasoning: echo('reasoning', { effort: null, summary: null }),
    store: echo('store', false),
    temperature: echo('temperature', null),
    text: echo('text', { format: { type: 'text' } }),
    tool_choice: echo('tool_choice', 'auto'),
    tools: echo('tools', []),
    top_p: echo('top_p', null),
    truncation: 'disabled',
    usage: null,
    metadata: echo('metadata', {}),
  };
}

export function messageItem(id: string, text: string, refusal: string, status: string): Item {
  const content: Item[] = [];
  if (text !== '' || refusal === '') content.push({ type: 'output_text', text, annotations: [], logprobs: [] });
  if (refusal !== '') content.push({ type: 'refusal', refusal });
  return { id, type: 'message', status, role: 'assistant', content };
}

export function reasoningItem(id: string, text: string): Item {
  return { id, type: 'reasoning', summary: text === '' ? [] : [{ type: 'summary_text', text }] };
}

/** A chat tool call as the client's item: a custom tool's single `input` argument is unwrapped. */
export function callItem(
  id: string,
  callId: string,
  name: string,
  args: string,
  custom: boolean,
  status: string,
): Item {
  if (!custom) return { id, type: 'function_call', status, call_id: callId, name, arguments: args };
  let input = args;
  try {
    const parsed = JSON.parse(args) as unknown;
    if (isRecord(parsed) && typeof parsed[CUSTOM_TOOL_INPUT] === 'string') input = parsed[CUSTOM_TOOL_INPUT];
  } catch {
    // Not the JSON the function was declared with: the raw text is the best input there is.
  }
  return { id, type: 'custom_tool_call', status, call_id: callId, name, input };
}

type ChatMessage = { content?: unknown; refusal?: unknown; reasoning?: unknown; tool_calls?: unknown };

function outputItems(
  message: ChatMessage,
  ids: ItemIds,
  request: ResponsesRequest,
  customTools: ReadonlySet<string>,
): Item[] {
  const output: Item[] = [];
  if (request.wantsReasoningSummary && typeof message.reasoning === 'string' && message.reasoning !== '')
    output.push(reasoningItem(ids.item('rs', output.length), message.reasoning));
  const text = typeof message.content === 'string' ? message.content : '';
  const refusal = typeof message.refusal === 'string' ? message.refusal : '';
  if (text !== '' || refusal !== '')
    output.push(messageItem(ids.item('msg', output.length), text, refusal, 'completed'));
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  for (const [index, call] of calls.entries()) {
    if (!isRecord(call) || !isRecord(call.function)) continue;
    const name = String(call.function.name ?? '');
    const id = ids.item('fc', output.length);
    const callId = typeof call.id === 'string' ? call.id : `call_${index}`;
    const args = typeof call.function.arguments === 'string' ? call.function.arguments : '';
    output.push(callItem(id, callId, name, args, customTools.has(name), 'completed'));
  }
  return output;
}

/** The Responses object of a whole chat answer. */
export function chatToResponse(
  request: ResponsesRequest,
  chat: Record<string, unknown>,
  customTools: ReadonlySet<string>,
): ResponseObject {
  const ids = itemIds(typeof chat.id === 'string' ? chat.id : '');
  const model = typeof chat.model === 'string' ? chat.model : request.model;
  const created = typeof chat.created === 'number' ? chat.created : Math.floor(Date.now() / 1000);
  const choice = Array.isArray(chat.choices) && isRecord(chat.choices[0]) ? chat.choices[0] : {};
  const message = (isRecord(choice.message) ? choice.message : {}) as ChatMessage;
  return {
    ...responseShell(request, ids.response, model, created),
    ...finishState(choice.finish_reason),
    output: outputItems(message, ids, request, customTools),
    usage: responsesUsage(chat.usage),
  };
}
