import { GatewayError } from '../../../core/errors.ts';
import { isRecord } from '../../../core/billed-request.ts';
import { messageIdFor, messagesUsage, stopOf, toolUseIdFor } from './finish.ts';

/**
 * A whole Chat Completions answer as a Messages answer (the translated mode): reasoning becomes
 * `thinking` blocks, then the text, then one `tool_use` block per tool call with its arguments
 * parsed. An answer that cannot be read this way is the upstream's fault (502), never guessed at.
 */

export type TranslationContext = {
  /**
   * The model id the customer asked for, which the answer names when the upstream does not say
   * which model served it (when it does, the answer names that one, as chat and native answers do:
   * the charge without a reported cost follows the model served).
   */
  model: string;
  /** The request's `stop_sequences`, to tell a stop sequence from a natural end. */
  stopSequences: readonly string[];
};

const invalid = (message: string) => new GatewayError(502, 'upstream_invalid_response', message);

/** OpenRouter's `reasoning_details` as thinking blocks; a plain `reasoning` string as one. */
function thinkingBlocks(message: Record<string, unknown>): Record<string, unknown>[] {
  const details = Array.isArray(message.reasoning_details) ? message.reasoning_details.filter(isRecord) : [];
  const blocks: Record<string, unknown>[] = [];
  for (const detail of details) {
    if (detail.type === 'reasoning.encrypted' && typeof detail.data === 'string')
      blocks.push({ type: 'redacted_thinking', data: detail.data });
    else if (detail.type === 'reasoning.text' && typeof detail.text === 'string')
      blocks.push({ type: 'thinking', thinking: detail.text, signature: stringOr(detail.signature, '') });
    else if (detail.type === 'reasoning.summary' && typeof detail.summary === 'string')
      blocks.push({ type: 'thinking', thinking: detail.summary, signature: '' });
  }
  if (blocks.length > 0) return blocks;
  const plain = typeof message.reasoning === 'string' ? message.reasoning : message.reasoning_content;
  return typeof plain === 'string' && plain !== '' ? [{ type: 'thinking', thinking: plain, signature: '' }] : [];
}

const stringOr = (value: unknown, fallback: string): string => (typeof value === 'string' ? value : fallback);

/** A tool call's arguments as the tool_use input: a JSON object, or the answer is refused. */
function parseToolInput(args: string, name: string): Record<string, unknown> {
  if (args.trim() === '') return {};
  let input: unknown;
  try {
    input = JSON.parse(args);
  } catch {
    throw invalid(`The model called ${name} with arguments that are not JSON.`);
  }
  if (!isRecord(input)) throw invalid(`The model called ${name} with arguments that are not a JSON object.`);
  return input;
}

function toolUseBlocks(message: Record<string, unknown>): Record<string, unknown>[] {
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  return calls.map((call) => {
    const fn = isRecord(call) ? call.function : undefined;
    if (!isRecord(call) || !isRecord(fn) || typeof fn.name !== 'string')
      throw invalid('A tool call has no function name.');
    const input = parseToolInput(stringOr(fn.arguments, ''), fn.name);
    return { type: 'tool_use', id: toolUseIdFor(call.id), name: fn.name, input };
  });
}

/** The Messages answer for a chat answer; throws a 502 `GatewayError` for one that makes no sense. */
export function chatToMessagesResponse(chat: unknown, context: TranslationContext): Record<string, unknown> {
  if (!isRecord(chat) || !Array.isArray(chat.choices)) throw invalid('The upstream answer has no choices.');
  const choice = chat.choices[0];
  if (!isRecord(choice) || !isRecord(choice.message)) throw invalid('The upstream answer has no message.');
  if (choice.finish_reason === 'error')
    throw new GatewayError(502, 'upstream_error', 'The upstream failed mid-answer.');
  const message = choice.message;
  const content: Record<string, unknown>[] = thinkingBlocks(message);
  if (typeof message.content === 'string' && message.content !== '')
    content.push({ type: 'text', text: message.content });
  content.push(...toolUseBlocks(message));
  if (typeof message.refusal === 'string' && message.refusal !== '')
    content.push({ type: 'text', text: message.refusal });
  const stop = stopOf(choice, context.stopSequences);
  return {
    id: messageIdFor(chat.id),
    type: 'message',
    role: 'assistant',
    model: typeof chat.model === 'string' && chat.model !== '' ? chat.model : context.model,
    content,
    stop_reason: typeof message.refusal === 'string' && message.refusal !== '' ? 'refusal' : stop.reason,
    stop_sequence: stop.sequence,
    usage: messagesUsage(chat.usage),
  };
}
