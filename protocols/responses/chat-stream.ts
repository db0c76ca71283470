import { isRecord } from '../../core/openai-request.ts';
import {
  callItem,
  finishState,
  itemIds,
  messageItem,
  reasoningItem,
  responseShell,
  responsesUsage,
  type ItemIds,
  type ResponseObject,
} from './from-chat.ts';
import type { ResponsesRequest } from './request.ts';

/**
 * A Chat Completions stream translated into Responses events as it passes, chunk by chunk: one
 * output item at a time for text and reasoning (closed when the next begins), tool calls by their
 * chat index until the answer ends. Every item ends with `response.output_item.done` carrying the
 * whole item (Codex prints nothing without it), and the answer with `response.completed` (or
 * `response.incomplete` for a `length` finish) carrying the usage. A failure ends the stream with
 * `response.failed` and an `error` event.
 */

type Item = Record<string, unknown>;
type MessagePart = { kind: 'text' | 'refusal'; value: string };
type OpenMessage = { kind: 'message'; index: number; id: string; parts: MessagePart[] };
type OpenReasoning = { kind: 'reasoning'; index: number; id: string; text: string };
type OpenCall = { index: number; id: string; callId: string; name: string; args: string; custom: boolean };
type Delta = { content?: unknown; refusal?: unknown; reasoning?: unknown; tool_calls?: unknown };

export type StreamFailure = { code: string; message: string };

export class ChatToResponsesStream {
  private sequence = 0;
  private buffer = '';
  private shell: ResponseObject | undefined;
  private ids: ItemIds | undefined;
  private readonly output: Item[] = [];
  private open: OpenMessage | OpenReasoning | undefined;
  private readonly calls = new Map<number, OpenCall>();
  private finishReason: unknown = null;
  private usage: unknown;
  private ended = false;

  constructor(
    private readonly request: ResponsesRequest,
    private readonly customTools: ReadonlySet<string>,
  ) {}

  /** True once the stream was finished or failed: nothing more is sent. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Raw SSE text from the upstream, in pieces of any size; returns the events it completes. */
  push(text: string): string {
    this.buffer += text;
    if (this.buffer.includes('\r')) this.buffer = this.buffer.replace(/\r\n?/g, '\n');
    let out = '';
    let boundary = this.buffer.indexOf('\n\n');
    while (boundary !== -1 && !this.ended) {
      const block = this.buffer.slice(0, boundary);
      this.buffer = this.buffer.slice(boundary + 2);
      boundary = this.buffer.indexOf('\n\n');
      if (block.startsWith(':')) out += `${block}\n\n`;
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(line.charCodeAt(5) === 32 ? 6 : 5))
        .join('\n');
      if (data !== '') out += this.data(data);
    }
    return out;
  }

  /** One chat event's data: a chunk, `[DONE]`, or an upstream error. */
  data(data: string): string {
    if (this.ended) return '';
    if (data === '[DONE]') return this.finish();
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return '';
    }
    if (!isRecord(chunk)) return '';
    if (isRecord(chunk.error)) {
      const { code, message } = chunk.error;
      return this.fail({ code: String(code ?? 'upstream_error'), message: String(message ?? 'The upstream failed.') });
    }
    return this.chunk(chunk);
  }

  /** The upstream's body ended: completes the response if it finished, else fails it as cut. */
  end(): string {
    if (this.ended) return '';
    if (this.finishReason !== null) return this.finish();
    return this.fail({ code: 'upstream_disconnected', message: 'The upstream ended the stream before the answer.' });
  }

  private event(type: string, fields: Record<string, unknown>): string {
    const payload = { type, sequence_number: this.sequence++, ...fields };
    return `event: ${type}\ndata: ${JSON.stringify(payload)}\n\n`;
  }

  private start(chunk: Record<string, unknown>): string {
    this.ids = itemIds(typeof chunk.id === 'string' ? chunk.id : '');
    const model = typeof chunk.model === 'string' ? chunk.model : this.request.model;
    const created = typeof chunk.created === 'number' ? chunk.created : Math.floor(Date.now() / 1000);
    this.shell = responseShell(this.request, this.ids.response, model, created);
    return (
      this.event('response.created', { response: this.shell }) +
      this.event('response.in_progress', { response: this.shell })
    );
  }

  private chunk(chunk: Record<string, unknown>): string {
    let out = this.shell ? '' : this.start(chunk);
    if (chunk.usage !== undefined && chunk.usage !== null) this.usage = chunk.usage;
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    const choice = isRecord(choices[0]) ? choices[0] : undefined;
    if (!choice) return out;
    const delta = (isRecord(choice.delta) ? choice.delta : {}) as Delta;
    if (this.request.wantsReasoningSummary && typeof delta.reasoning === 'string' && delta.reasoning !== '')
      out += this.reasoning(delta.reasoning);
    if (typeof delta.content === 'string' && delta.content !== '') out += this.text('text', delta.content);
    if (typeof delta.refusal === 'string' && delta.refusal !== '') out += this.text('refusal', delta.refusal);
    if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls) out += this.toolCall(call);
    if (choice.finish_reason !== undefined && choice.finish_reason !== null) this.finishReason = choice.finish_reason;
    return out;
  }

  private nextIndex(): number {
    return this.output.length;
  }

  private addItem(item: Item): string {
    const index = this.nextIndex();
    this.output.push(item);
    return this.event('response.output_item.added', { output_index: index, item });
  }

  private reasoning(delta: string): string {
    let out = '';
    if (this.open?.kind !== 'reasoning') {
      out += this.closeOpen();
      const index = this.nextIndex();
      const id = this.ids?.item('rs', index) ?? '';
      this.open = { kind: 'reasoning', index, id, text: '' };
      out += this.addItem(reasoningItem(id, ''));
      out += this.event('response.reasoning_summary_part.added', {
        item_id: id,
        output_index: index,
        summary_index: 0,
        part: { type: 'summary_text', text: '' },
      });
    }
    const open = this.open as OpenReasoning;
    open.text += delta;
    return (
      out +
      this.event('response.reasoning_summary_text.delta', {
        item_id: open.id,
        output_index: open.index,
        summary_index: 0,
        delta,
      })
    );
  }

  private text(kind: MessagePart['kind'], delta: string): string {
    let out = '';
    if (this.open?.kind !== 'message') {
      out += this.closeOpen();
      const index = this.nextIndex();
      const id = this.ids?.item('msg', index) ?? '';
      this.open = { kind: 'message', index, id, parts: [] };
      out += this.addItem({ id, type: 'message', status: 'in_progress', role: 'assistant', content: [] });
    }
    const open = this.open as OpenMessage;
    const where = { item_id: open.id, output_index: open.index };
    if (open.parts.at(-1)?.kind !== kind) {
      out += this.closePart(open);
      open.parts.push({ kind, value: '' });
      const part =
        kind === 'text' ? { type: 'output_text', text: '', annotations: [] } : { type: 'refusal', refusal: '' };
      out += this.event('response.content_part.added', { ...where, content_index: open.parts.length - 1, part });
    }
    const last = open.parts.at(-1) as MessagePart;
    last.value += delta;
    const contentIndex = open.parts.length - 1;
    if (kind === 'refusal')
      return out + this.event('response.refusal.delta', { ...where, content_index: contentIndex, delta });
    return (
      out + this.event('response.output_text.delta', { ...where, content_index: contentIndex, delta, logprobs: [] })
    );
  }

  private toolCall(raw: unknown): string {
    if (!isRecord(raw)) return '';
    const chatIndex = typeof raw.index === 'number' ? raw.index : this.calls.size;
    const fn = isRecord(raw.function) ? raw.function : {};
    let out = '';
    let call = this.calls.get(chatIndex);
    if (!call) {
      out += this.closeOpen();
      const index = this.nextIndex();
      const name = typeof fn.name === 'string' ? fn.name : '';
      const callId = typeof raw.id === 'string' ? raw.id : `call_${chatIndex}`;
      call = {
        index,
        id: this.ids?.item('fc', index) ?? '',
        callId,
        name,
        args: '',
        custom: this.customTools.has(name),
      };
      this.calls.set(chatIndex, call);
      out += this.addItem(callItem(call.id, call.callId, call.name, '', call.custom, 'in_progress'));
    }
    const delta = typeof fn.arguments === 'string' ? fn.arguments : '';
    if (delta === '') return out;
    call.args += delta;
    // A custom tool's input is the string inside the arguments' JSON: sent whole when the call ends.
    if (call.custom) return out;
    return (
      out + this.event('response.function_call_arguments.delta', { item_id: call.id, output_index: call.index, delta })
    );
  }

  private closePart(open: OpenMessage): string {
    const last = open.parts.at(-1);
    if (!last) return '';
    const where = { item_id: open.id, output_index: open.index, content_index: open.parts.length - 1 };
    if (last.kind === 'refusal')
      return (
        this.event('response.refusal.done', { ...where, refusal: last.value }) +
        this.event('response.content_part.done', { ...where, part: { type: 'refusal', refusal: last.value } })
      );
    return (
      this.event('response.output_text.done', { ...where, text: last.value, logprobs: [] }) +
      this.event('response.content_part.done', {
        ...where,
        part: { type: 'output_text', text: last.value, annotations: [], logprobs: [] },
      })
    );
  }

  private closeOpen(): string {
    const open = this.open;
    if (!open) return '';
    this.open = undefined;
    if (open.kind === 'reasoning') {
      const where = { item_id: open.id, output_index: open.index, summary_index: 0 };
      const item = reasoningItem(open.id, open.text);
      this.output[open.index] = item;
      return (
        this.event('response.reasoning_summary_text.done', { ...where, text: open.text }) +
        this.event('response.reasoning_summary_part.done', {
          ...where,
          part: { type: 'summary_text', text: open.text },
        }) +
        this.event('response.output_item.done', { output_index: open.index, item })
      );
    }
    const text = open.parts
      .filter((p) => p.kind === 'text')
      .map((p) => p.value)
      .join('');
    const refusal = open.parts
      .filter((p) => p.kind === 'refusal')
      .map((p) => p.value)
      .join('');
    const item = messageItem(open.id, text, refusal, 'completed');
    this.output[open.index] = item;
    return this.closePart(open) + this.event('response.output_item.done', { output_index: open.index, item });
  }

  private closeCalls(): string {
    let out = '';
    for (const call of this.calls.values()) {
      const item = callItem(call.id, call.callId, call.name, call.args, call.custom, 'completed');
      this.output[call.index] = item;
      const where = { item_id: call.id, output_index: call.index };
      if (call.custom) {
        const input = String(item.input);
        out += this.event('response.custom_tool_call_input.delta', { ...where, delta: input });
        out += this.event('response.custom_tool_call_input.done', { ...where, input });
      } else {
        out += this.event('response.function_call_arguments.done', { ...where, name: call.name, arguments: call.args });
      }
      out += this.event('response.output_item.done', { output_index: call.index, item });
    }
    this.calls.clear();
    return out;
  }

  private finish(): string {
    const opening = this.shell ? '' : this.start({});
    const out = opening + this.closeOpen() + this.closeCalls();
    this.ended = true;
    const state = finishState(this.finishReason);
    const response = { ...this.shell, ...state, output: this.output, usage: responsesUsage(this.usage) };
    const type = state.status === 'completed' ? 'response.completed' : 'response.incomplete';
    return out + this.event(type, { response });
  }

  /** Ends the stream on a failure: `response.failed` with the error, then an `error` event. */
  fail(failure: StreamFailure): string {
    if (this.ended) return '';
    const opening = this.shell ? '' : this.start({});
    this.ended = true;
    const response = {
      ...this.shell,
      status: 'failed',
      error: { code: failure.code, message: failure.message },
      output: this.output,
      usage: responsesUsage(this.usage),
    };
    return (
      opening +
      this.event('response.failed', { response }) +
      this.event('error', { code: failure.code, message: failure.message, param: null })
    );
  }
}
