import { isRecord } from '../../../core/billed-request.ts';
import { messageIdFor, messagesUsage, type Stop, stopOf, toolUseIdFor } from './finish.ts';
import type { TranslationContext } from './response.ts';
import type { TranslatedEvent } from '../../protocol.ts';
import { BlockWriter, messagesEvent } from './stream-blocks.ts';

/**
 * A Chat Completions stream as a Messages stream, incrementally: the relay (plugins/proxy/sse-relay.ts)
 * splits the upstream's bytes into events and hands their data over one at a time; this returns
 * the Messages events each completes, which the relay frames and shows the observers:
 * message_start at the first chunk, then one content block at a time (thinking, text, each tool
 * call with its streamed arguments as input_json_delta), and message_delta (stop reason, usage)
 * with message_stop once the chat stream has finished. A chat error event, or a stream that ends
 * before its finish reason, becomes an Anthropic `error` event. The usage the upstream reported
 * goes out in message_delta in Anthropic's terms, with the upstream's `cost`: that is what the
 * Messages meter bills by, and it replaces the cost with the customer's price.
 */

type AnthropicErrorType = 'api_error' | 'overloaded_error' | 'rate_limit_error';

const CUT_MESSAGE = 'The upstream provider closed the stream before the answer was complete.';

export class ChatToMessagesEvents {
  readonly #out: TranslatedEvent[] = [];
  readonly #blocks = new BlockWriter(this.#out);
  #started = false;
  #stop: Stop | null = null;
  #ended = false;
  #usage: Record<string, unknown> | null = null;

  constructor(private readonly context: TranslationContext) {}

  /**
   * The Messages events completed by one chat event's data (`[DONE]` included), or by the clean
   * end of the upstream's body (null): complete if its finish reason came, else cut.
   */
  next(data: string | null): TranslatedEvent[] {
    if (!this.#ended) {
      if (data === null || data === '[DONE]') this.#finish();
      else this.#data(data);
    }
    return this.#take();
  }

  #take(): TranslatedEvent[] {
    return this.#out.splice(0, this.#out.length);
  }

  #start(chunk: Record<string, unknown>): void {
    this.#started = true;
    const message = {
      id: messageIdFor(chunk.id),
      type: 'message',
      role: 'assistant',
      model: typeof chunk.model === 'string' && chunk.model !== '' ? chunk.model : this.context.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: messagesUsage(chunk.usage),
    };
    this.#out.push(messagesEvent('message_start', { message }), messagesEvent('ping', {}));
  }

  #data(data: string): void {
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      this.#failed('api_error', 'The upstream sent an event that is not JSON.');
      return;
    }
    if (!isRecord(chunk)) {
      this.#failed('api_error', 'The upstream sent an event that is not an object.');
      return;
    }
    if (isRecord(chunk.error)) {
      this.#upstreamError(chunk.error);
      return;
    }
    if (!this.#started) this.#start(chunk);
    if (isRecord(chunk.usage)) this.#usage = chunk.usage;
    const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
    if (!isRecord(choice) || this.#stop !== null) return;
    if (isRecord(choice.delta)) this.#delta(choice.delta);
    if (this.#ended) return;
    if (choice.finish_reason === 'error') {
      this.#failed('api_error', 'The upstream provider failed mid-answer.');
      return;
    }
    if (typeof choice.finish_reason === 'string') {
      this.#stop = stopOf(choice, this.context.stopSequences);
      this.#blocks.close();
    }
  }

  #failed(type: AnthropicErrorType, message: string): void {
    if (this.#ended) return;
    this.#blocks.close();
    this.#out.push(messagesEvent('error', { error: { type, message } }));
    this.#ended = true;
  }

  #upstreamError(error: Record<string, unknown>): void {
    const message = typeof error.message === 'string' ? error.message : 'The upstream provider failed mid-answer.';
    this.#failed(errorTypeOf(error), message);
  }

  #delta(delta: Record<string, unknown>): void {
    this.#reasoning(delta);
    if (typeof delta.content === 'string' && delta.content !== '') this.#blocks.text(delta.content);
    if (!Array.isArray(delta.tool_calls)) return;
    for (const [position, call] of delta.tool_calls.entries()) {
      if (!isRecord(call)) continue;
      const toolCall = typeof call.index === 'number' ? call.index : position;
      const fn = isRecord(call.function) ? call.function : {};
      if (!this.#blocks.knowsToolCall(toolCall))
        this.#blocks.toolCall(toolCall, toolUseIdFor(call.id), typeof fn.name === 'string' ? fn.name : '');
      const args = typeof fn.arguments === 'string' ? fn.arguments : '';
      if (!this.#blocks.toolArguments(toolCall, args)) {
        this.#failed('api_error', 'The upstream interleaved the arguments of parallel tool calls.');
        return;
      }
    }
  }

  /** OpenRouter's `reasoning_details` when present (they carry signatures), else the plain reasoning text. */
  #reasoning(delta: Record<string, unknown>): void {
    const details = Array.isArray(delta.reasoning_details) ? delta.reasoning_details.filter(isRecord) : [];
    for (const detail of details) {
      if (detail.type === 'reasoning.encrypted' && typeof detail.data === 'string')
        this.#blocks.redactedThinking(detail.data);
      const text = detail.type === 'reasoning.summary' ? detail.summary : detail.text;
      if (typeof text === 'string' && text !== '') this.#blocks.thinking(text);
      if (typeof detail.signature === 'string' && detail.signature !== '') this.#blocks.signature(detail.signature);
    }
    if (details.length > 0) return;
    const plain = typeof delta.reasoning === 'string' ? delta.reasoning : delta.reasoning_content;
    if (typeof plain === 'string' && plain !== '') this.#blocks.thinking(plain);
  }

  #finish(): void {
    if (this.#stop === null) {
      this.#failed('api_error', CUT_MESSAGE);
      return;
    }
    this.#blocks.close();
    const usage = messagesUsage(this.#usage);
    const delta = { stop_reason: this.#stop.reason, stop_sequence: this.#stop.sequence };
    this.#out.push(messagesEvent('message_delta', { delta, usage }), messagesEvent('message_stop', {}));
    this.#ended = true;
  }
}

/** A chat error object's kind in Anthropic's vocabulary, from its status code or our error type. */
function errorTypeOf(error: Record<string, unknown>): AnthropicErrorType {
  const code = typeof error.code === 'number' ? error.code : Number(error.status ?? Number.NaN);
  if (error.type === 'rate_limit_error' || code === 429) return 'rate_limit_error';
  if (code === 503 || code === 529 || error.code === 'upstream_unavailable') return 'overloaded_error';
  return 'api_error';
}
