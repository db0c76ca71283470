import { isRecord } from '../../../core/billed-request.ts';
import { messageIdFor, messagesUsage, type Stop, stopOf, toolUseIdFor } from './finish.ts';
import type { TranslationContext } from './response.ts';
import { SseEventReader } from './sse-events.ts';
import type { TranslatedEvent } from '../../protocol.ts';
import { BlockWriter, messagesEvent } from './stream-blocks.ts';

/**
 * A Chat Completions stream as a Messages stream, incrementally. `ChatToMessagesEvents` takes the
 * chat events' data one at a time and returns the Messages events they complete:
 * message_start at the first chunk, then one content block at a time (thinking, text, each tool
 * call with its streamed arguments as input_json_delta), and message_delta (stop reason, usage)
 * with message_stop once the chat stream has finished. A chat error event, or a stream that ends
 * before its finish reason, becomes an Anthropic `error` event. The usage the upstream reported
 * stays readable (`usage`) for the meter, and goes out in message_delta in Anthropic's terms
 * (with the upstream's `cost`, which the Messages meter replaces by the customer's price).
 * `ChatToMessagesStream` does the same from raw bytes cut anywhere, to SSE bytes.
 */

export type AnthropicErrorType = 'api_error' | 'overloaded_error' | 'rate_limit_error' | 'invalid_request_error';

export const CUT_MESSAGE = 'The upstream provider closed the stream before the answer was complete.';

export class ChatToMessagesEvents {
  readonly #out: TranslatedEvent[] = [];
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

  /** Ends the stream with an Anthropic error event (the client left, the upstream went silent, …). */
  fail(type: AnthropicErrorType, message: string): TranslatedEvent[] {
    this.#failed(type, message);
    return this.#take();
  }

  /** A heartbeat: nothing before message_start (there is no event to send yet), a ping after it. */
  ping(): TranslatedEvent[] {
    return this.#started && !this.#ended ? [messagesEvent('ping', {})] : [];
  }

  #take(): TranslatedEvent[] {
    return this.#out.splice(0, this.#out.length);
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

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

const frame = (events: readonly TranslatedEvent[]): Uint8Array =>
  events.length === 0
    ? EMPTY
    : encoder.encode(events.map((event) => `event: ${event.event}\ndata: ${event.data}\n\n`).join(''));

/** The translation from bytes to bytes: feed the upstream's chunks as they come, send what comes back. */
export class ChatToMessagesStream {
  readonly #reader = new SseEventReader();
  readonly #events: ChatToMessagesEvents;

  constructor(context: TranslationContext) {
    this.#events = new ChatToMessagesEvents(context);
  }

  get usage(): Record<string, unknown> | null {
    return this.#events.usage;
  }

  get generationId(): string | null {
    return this.#events.generationId;
  }

  get ended(): boolean {
    return this.#events.ended;
  }

  push(chunk: Uint8Array): Uint8Array {
    if (this.#events.ended) return EMPTY;
    const events = this.#reader.push(chunk);
    if (events === undefined) return this.fail('api_error', 'The upstream sent an event too large to read.');
    const out: TranslatedEvent[] = [];
    for (const event of events)
      out.push(...(event.kind === 'comment' ? this.#events.ping() : this.#events.next(event.data)));
    return frame(out);
  }

  /** The upstream's body ended. */
  end(): Uint8Array {
    if (this.#events.ended) return EMPTY;
    const out: TranslatedEvent[] = [];
    for (const event of this.#reader.end()) if (event.kind === 'data') out.push(...this.#events.next(event.data));
    out.push(...this.#events.next(null));
    return frame(out);
  }

  fail(type: AnthropicErrorType, message: string): Uint8Array {
    return frame(this.#events.fail(type, message));
  }
}
