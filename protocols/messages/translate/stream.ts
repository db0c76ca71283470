import { isRecord } from '../../../core/openai-request.ts';
import { messageIdFor, messagesUsage, type Stop, stopOf, toolUseIdFor } from './finish.ts';
import type { TranslationContext } from './response.ts';
import { SseEventReader } from './sse-events.ts';
import { BlockWriter, sseEvent } from './stream-blocks.ts';

/**
 * A Chat Completions SSE stream as a Messages SSE stream, incrementally: feed the upstream's bytes
 * as they come, send the bytes returned. message_start at the first chunk, then one content block
 * at a time (thinking, text, each tool call with its streamed arguments as input_json_delta), and
 * message_delta (stop reason, usage) with message_stop once the chat stream has finished. A chat
 * error event, or a stream that ends before its finish reason, becomes an Anthropic `error` event.
 * The usage the upstream reported stays readable (`usage`) for the meter.
 */

export type AnthropicErrorType = 'api_error' | 'overloaded_error' | 'rate_limit_error' | 'invalid_request_error';

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

export const CUT_MESSAGE = 'The upstream provider closed the stream before the answer was complete.';

export class ChatToMessagesStream {
  readonly #reader = new SseEventReader();
  readonly #out: string[] = [];
  readonly #blocks = new BlockWriter(this.#out);
  #started = false;
  #stop: Stop | null = null;
  #ended = false;
  #usage: Record<string, unknown> | null = null;
  #generationId: string | null = null;

  constructor(private readonly context: TranslationContext) {}

  /** The last chat `usage` object the upstream sent (prompt_tokens, completion_tokens, cost, …). */
  get usage(): Record<string, unknown> | null {
    return this.#usage;
  }

  /** The upstream's id for this answer (OpenRouter's `gen-…`), from its first chunk. */
  get generationId(): string | null {
    return this.#generationId;
  }

  /** True once the stream has ended, by message_stop or by an error event. */
  get ended(): boolean {
    return this.#ended;
  }

  push(chunk: Uint8Array): Uint8Array {
    if (this.#ended) return EMPTY;
    const events = this.#reader.push(chunk);
    if (events === undefined) this.#failed('api_error', 'The upstream sent an event too large to read.');
    for (const event of events ?? []) {
      if (this.#ended) break;
      if (event.kind === 'comment') this.#comment(event.text);
      else if (event.data === '[DONE]') this.#finish();
      else this.#data(event.data);
    }
    return this.#flush();
  }

  /** The upstream's body ended: the answer is complete if its finish reason came, else it was cut. */
  end(): Uint8Array {
    if (this.#ended) return EMPTY;
    for (const event of this.#reader.end()) {
      if (this.#ended) break;
      if (event.kind === 'data' && event.data !== '[DONE]') this.#data(event.data);
    }
    if (!this.#ended) this.#finish();
    return this.#flush();
  }

  /** Ends the stream with an Anthropic error event (the client left, the upstream went silent, …). */
  fail(type: AnthropicErrorType, message: string): Uint8Array {
    this.#failed(type, message);
    return this.#flush();
  }

  #flush(): Uint8Array {
    if (this.#out.length === 0) return EMPTY;
    const bytes = encoder.encode(this.#out.join(''));
    this.#out.length = 0;
    return bytes;
  }

  /** Heartbeats stay heartbeats: a comment before message_start, a ping after it. */
  #comment(text: string): void {
    this.#out.push(this.#started ? sseEvent('ping', {}) : `: ${text}\n\n`);
  }

  #start(chunk: Record<string, unknown>): void {
    this.#started = true;
    if (typeof chunk.id === 'string') this.#generationId = chunk.id;
    const message = {
      id: messageIdFor(chunk.id),
      type: 'message',
      role: 'assistant',
      model: this.context.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: messagesUsage(chunk.usage),
    };
    this.#out.push(sseEvent('message_start', { message }), sseEvent('ping', {}));
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
    this.#out.push(sseEvent('error', { error: { type, message } }));
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
    this.#out.push(sseEvent('message_delta', { delta, usage }), sseEvent('message_stop', {}));
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
