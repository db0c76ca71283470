import { isRecord } from '../../../core/billed-request.ts';

/** How a chat answer ended and what it used, in Messages terms: shared by whole answers and streams. */

type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal';
export type Stop = { reason: StopReason; sequence: string | null };

type MessagesUsage = {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number | null;
  cache_read_input_tokens: number | null;
  /** The upstream's reported cost (USD), as OpenRouter's own Messages usage carries it; the meter prices it. */
  cost?: number;
  /**
   * The chat upstream reported no usage: the client gets zeros, the meter (../meter.ts) settles the
   * request by the estimate instead of billing nothing, and removes the mark before it goes out.
   */
  unreported?: true;
};

const count = (value: unknown): number | null =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : null;

/**
 * A chat choice's end as a Messages stop. Chat says only `stop` for both a natural end and a stop
 * sequence; the sequence is recognised when the upstream names it (`stop_reason`, as vLLM and
 * OpenRouter pass it on) or says so natively (`native_finish_reason: "stop_sequence"`).
 */
export function stopOf(choice: Record<string, unknown>, stopSequences: readonly string[]): Stop {
  const finish = choice.finish_reason;
  if (finish === 'length') return { reason: 'max_tokens', sequence: null };
  if (finish === 'tool_calls' || finish === 'function_call') return { reason: 'tool_use', sequence: null };
  if (finish === 'content_filter') return { reason: 'refusal', sequence: null };
  const named = typeof choice.stop_reason === 'string' ? choice.stop_reason : null;
  if (named !== null && stopSequences.includes(named)) return { reason: 'stop_sequence', sequence: named };
  if (choice.native_finish_reason === 'stop_sequence')
    return { reason: 'stop_sequence', sequence: stopSequences.length === 1 ? (stopSequences[0] as string) : named };
  return { reason: 'end_turn', sequence: null };
}

/**
 * Chat usage in Anthropic's terms: chat's `prompt_tokens` counts every prompt token, Anthropic's
 * `input_tokens` only those neither read from nor written to the cache.
 */
export function messagesUsage(usage: unknown): MessagesUsage {
  if (!isRecord(usage))
    return {
      input_tokens: 0,
      output_tokens: 0,
      cache_creation_input_tokens: null,
      cache_read_input_tokens: null,
      unreported: true,
    };
  const details = isRecord(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const cached = count(details.cached_tokens);
  const written = count(details.cache_write_tokens);
  const prompt = count(usage.prompt_tokens) ?? 0;
  const messages: MessagesUsage = {
    input_tokens: Math.max(0, prompt - (cached ?? 0) - (written ?? 0)),
    output_tokens: count(usage.completion_tokens) ?? 0,
    cache_creation_input_tokens: written,
    cache_read_input_tokens: cached,
  };
  if (typeof usage.cost === 'number') messages.cost = usage.cost;
  return messages;
}

/** Anthropic ids have a type prefix; the upstream's id stays inside, so a generation can be traced. */
export function messageIdFor(chatId: unknown): string {
  return typeof chatId === 'string' && chatId !== ''
    ? `msg_${chatId}`
    : `msg_${crypto.randomUUID().replaceAll('-', '')}`;
}

export function toolUseIdFor(callId: unknown): string {
  return typeof callId === 'string' && callId !== '' ? callId : `toolu_${crypto.randomUUID().replaceAll('-', '')}`;
}
