import type { TranslatedEvent } from '../../protocol.ts';

/**
 * The content blocks of a translated Messages stream, written as SSE events. Anthropic streams one
 * block at a time (the SDK applies a delta to its block by index, Claude Code to the last one), so
 * opening a block closes the one before it.
 */

type OpenBlock = { kind: 'text' | 'thinking' | 'tool_use'; index: number; toolCall: number | null };

/** One Messages event: its SSE `event:` name, and the same `type` inside its data, as Anthropic sends. */
export const messagesEvent = (type: string, payload: Record<string, unknown>): TranslatedEvent => ({
  event: type,
  data: JSON.stringify({ type, ...payload }),
});

export class BlockWriter {
  #open: OpenBlock | null = null;
  #next = 0;
  /** Chat tool-call index → its block, for the streamed arguments that follow. */
  readonly #tools = new Map<number, number>();

  constructor(private readonly out: TranslatedEvent[]) {}

  close(): void {
    if (this.#open === null) return;
    this.out.push(messagesEvent('content_block_stop', { index: this.#open.index }));
    this.#open = null;
  }

  #start(kind: OpenBlock['kind'], block: Record<string, unknown>, toolCall: number | null = null): number {
    this.close();
    const index = this.#next++;
    this.#open = { kind, index, toolCall };
    this.out.push(messagesEvent('content_block_start', { index, content_block: block }));
    return index;
  }

  #delta(delta: Record<string, unknown>): void {
    this.out.push(messagesEvent('content_block_delta', { index: this.#open?.index, delta }));
  }

  text(text: string): void {
    if (this.#open?.kind !== 'text') this.#start('text', { type: 'text', text: '' });
    this.#delta({ type: 'text_delta', text });
  }

  thinking(thinking: string): void {
    if (this.#open?.kind !== 'thinking') this.#start('thinking', { type: 'thinking', thinking: '', signature: '' });
    if (thinking !== '') this.#delta({ type: 'thinking_delta', thinking });
  }

  /** A signature ends its thinking block: the next reasoning is a block of its own. */
  signature(signature: string): void {
    this.thinking('');
    this.#delta({ type: 'signature_delta', signature });
    this.close();
  }

  redactedThinking(data: string): void {
    this.#start('thinking', { type: 'redacted_thinking', data });
    this.close();
  }

  /** The start of a tool call: its own block, with an empty input that its arguments fill. */
  toolCall(toolCall: number, id: string, name: string): void {
    this.#tools.set(toolCall, this.#start('tool_use', { type: 'tool_use', id, name, input: {} }, toolCall));
  }

  knowsToolCall(toolCall: number): boolean {
    return this.#tools.has(toolCall);
  }

  /** False when the call's block was already closed: chat interleaved parallel calls, Messages cannot. */
  toolArguments(toolCall: number, partialJson: string): boolean {
    if (this.#open?.kind !== 'tool_use' || this.#open.toolCall !== toolCall) return false;
    if (partialJson !== '') this.#delta({ type: 'input_json_delta', partial_json: partialJson });
    return true;
  }
}
