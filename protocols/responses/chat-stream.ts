import { isRecord } from '../../core/billed-request.ts';
import type { StreamTranslation, TranslatedEvent } from '../protocol.ts';
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
 * `response.incomplete` for a `length` finish) carrying the usage.
 */

type Item = Record<string, unknown>;
type MessagePart = { kind: 'text' | 'refusal'; value: string };
type OpenMessage = { kind: 'message'; index: number; id: string; parts: MessagePart[] };
type OpenReasoning = { kind: 'reasoning'; index: number; id: string; text: string };
type OpenCall = { index: number; id: string; callId: string; name: string; args: string; custom: boolean };
type Delta = { content?: unknown; refusal?: unknown; reasoning?: unknown; tool_calls?: unknown };

export class ChatToResponsesStream implements StreamTranslation {
  private sequence = 0;
  private out: TranslatedEvent[] = [];
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

  /**
   * One chat event's data, or null at the upstream's clean end (`[DONE]`): the Responses events it
   * makes, in order. Upstream errors and cuts never get here: the relay ends the stream with the
   * protocol's error events (./errors.ts).
   */
  next(data: string | null): readonly TranslatedEvent[] {
    if (this.ended) return [];
    if (data === null) this.finish();
    else this.data(data);
    return this.take();
  }

  private take(): TranslatedEvent[] {
    const events = this.out;
    this.out = [];
    return events;
  }

  private data(data: string): void {
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return;
    }
    if (isRecord(chunk)) this.chunk(chunk);
  }

  private event(type: string, fields: Record<string, unknown>): void {
    this.out.push({ event: type, data: JSON.stringify({ type, sequence_number: this.sequence++, ...fields }) });
  }

  private start(chunk: Record<string, unknown>): void {
    this.ids = itemIds(typeof chunk.id === 'string' ? chunk.id : '');
    const model = typeof chunk.model === 'string' ? chunk.model : this.request.model;
    const created = typeof chunk.created === 'number' ? chunk.created : Math.floor(Date.now() / 1000);
    this.shell = responseShell(this.request, this.ids.response, model, created);
    this.event('response.created', { response: this.shell });
    this.event('response.in_progress', { response: this.shell });
  }

  private chunk(chunk: Record<string, unknown>): void {
    if (!this.shell) this.start(chunk);
    if (chunk.usage !== undefined && chunk.usage !== null) this.usage = chunk.usage;
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    const choice = isRecord(choices[0]) ? choices[0] : undefined;
    if (!choice) return;
    const delta = (isRecord(choice.delta) ? choice.delta : {}) as Delta;
    if (this.request.wantsReasoningSummary && typeof delta.reasoning === 'string' && delta.reasoning !== '')
      this.reasoning(delta.reasoning);
    if (typeof delta.content === 'string' && delta.content !== '') this.text('text', delta.content);
    if (typeof delta.refusal === 'string' && delta.refusal !== '') this.text('refusal', delta.refusal);
    if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls) this.toolCall(call);
    if (choice.finish_reason !== undefined && choice.finish_reason !== null) this.finishReason = choice.finish_reason;
  }

  /** Adds an item to the output; returns its output index. */
  private addItem(item: Item): number {
    const index = this.output.length;
    this.output.push(item);
    this.event('response.output_item.added', { output_index: index, item });
    return index;
  }

  private reasoning(delta: string): void {
    if (this.open?.kind !== 'reasoning') {
      this.closeOpen();
      const id = this.ids?.item('rs', this.output.length) ?? '';
      const index = this.addItem(reasoningItem(id, ''));
      this.open = { kind: 'reasoning', index, id, text: '' };
      this.event('response.reasoning_summary_part.added', {
        item_id: id,
        output_index: index,
        summary_index: 0,
        part: { type: 'summary_text', text: '' },
      });
    }
    const open = this.open as OpenReasoning;
    open.text += delta;
    this.event('response.reasoning_summary_text.delta', {
      item_id: open.id,
      output_index: open.index,
      summary_index: 0,
      delta,
    });
  }

  private text(kind: MessagePart['kind'], delta: string): void {
    if (this.open?.kind !== 'message') {
      this.closeOpen();
      const id = this.ids?.item('msg', this.output.length) ?? '';
      const index = this.addItem({ id, type: 'message', status: 'in_progress', role: 'assistant', content: [] });
      this.open = { kind: 'message', index, id, parts: [] };
    }
    const open = this.open as OpenMessage;
    const where = { item_id: open.id, output_index: open.index };
    if (open.parts.at(-1)?.kind !== kind) {
      this.closePart(open);
      open.parts.push({ kind, value: '' });
      const part =
        kind === 'text' ? { type: 'output_text', text: '', annotations: [] } : { type: 'refusal', refusal: '' };
      this.event('response.content_part.added', { ...where, content_index: open.parts.length - 1, part });
    }
    const last = open.parts.at(-1) as MessagePart;
    last.value += delta;
    const contentIndex = open.parts.length - 1;
    if (kind === 'refusal') this.event('response.refusal.delta', { ...where, content_index: contentIndex, delta });
    else this.event('response.output_text.delta', { ...where, content_index: contentIndex, delta, logprobs: [] });
  }

  private toolCall(raw: unknown): void {
    if (!isRecord(raw)) return;
    const chatIndex = typeof raw.index === 'number' ? raw.index : this.calls.size;
    const fn = isRecord(raw.function) ? raw.function : {};
    let call = this.calls.get(chatIndex);
    if (!call) {
      this.closeOpen();
      const name = typeof fn.name === 'string' ? fn.name : '';
      const callId = typeof raw.id === 'string' ? raw.id : `call_${chatIndex}`;
      const id = this.ids?.item('fc', this.output.length) ?? '';
      const custom = this.customTools.has(name);
      const index = this.addItem(callItem(id, callId, name, '', custom, 'in_progress'));
      call = { index, id, callId, name, args: '', custom };
      this.calls.set(chatIndex, call);
    }
    const delta = typeof fn.arguments === 'string' ? fn.arguments : '';
    if (delta === '') return;
    call.args += delta;
    // A custom tool's input is the string inside the arguments' JSON: sent whole when the call ends.
    if (!call.custom)
      this.event('response.function_call_arguments.delta', { item_id: call.id, output_index: call.index, delta });
  }

  private closePart(open: OpenMessage): void {
    const last = open.parts.at(-1);
    if (!last) return;
    const where = { item_id: open.id, output_index: open.index, content_index: open.parts.length - 1 };
    if (last.kind === 'refusal') {
      this.event('response.refusal.done', { ...where, refusal: last.value });
      this.event('response.content_part.done', { ...where, part: { type: 'refusal', refusal: last.value } });
      return;
    }
    this.event('response.output_text.done', { ...where, text: last.value, logprobs: [] });
    this.event('response.content_part.done', {
      ...where,
      part: { type: 'output_text', text: last.value, annotations: [], logprobs: [] },
    });
  }

  private closeOpen(): void {
    const open = this.open;
    if (!open) return;
    this.open = undefined;
    if (open.kind === 'reasoning') {
      const where = { item_id: open.id, output_index: open.index, summary_index: 0 };
      const item = reasoningItem(open.id, open.text);
      this.output[open.index] = item;
      this.event('response.reasoning_summary_text.done', { ...where, text: open.text });
      this.event('response.reasoning_summary_part.done', { ...where, part: { type: 'summary_text', text: open.text } });
      this.event('response.output_item.done', { output_index: open.index, item });
      return;
    }
    const joined = (kind: MessagePart['kind']) =>
      open.parts
        .filter((p) => p.kind === kind)
        .map((p) => p.value)
        .join('');
    const item = messageItem(open.id, joined('text'), joined('refusal'), 'completed');
    this.output[open.index] = item;
    this.closePart(open);
    this.event('response.output_item.done', { output_index: open.index, item });
  }

  private closeCalls(): void {
    for (const call of this.calls.values()) {
      const item = callItem(call.id, call.callId, call.name, call.args, call.custom, 'completed');
      this.output[call.index] = item;
      const where = { item_id: call.id, output_index: call.index };
      if (call.custom) {
        const input = String(item.input);
        this.event('response.custom_tool_call_input.delta', { ...where, delta: input });
        this.event('response.custom_tool_call_input.done', { ...where, input });
      } else {
        this.event('response.function_call_arguments.done', { ...where, name: call.name, arguments: call.args });
      }
      this.event('response.output_item.done', { output_index: call.index, item });
    }
    this.calls.clear();
  }

  private finish(): void {
    if (!this.shell) this.start({});
    this.closeOpen();
    this.closeCalls();
    this.ended = true;
    const state = finishState(this.finishReason);
    const response = { ...this.shell, ...state, output: this.output, usage: responsesUsage(this.usage) };
    this.event(state.status === 'completed' ? 'response.completed' : 'response.incomplete', { response });
  }
}
