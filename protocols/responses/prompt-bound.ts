import type { OutputBudget } from '../../core/hold-estimate.ts';
import { MESSAGE_OVERHEAD_TOKENS, REQUEST_OVERHEAD_TOKENS, type PromptBound } from '../../core/prompt-bound.ts';
import { isRecord } from '../../core/billed-request.ts';

/**
 * The hold inputs of a Responses request, on the same rule as chat's (core/prompt-bound.ts): the
 * UTF-8 bytes of everything the model reads bound its tokens, each input item adds a message's
 * template overhead, and images and files are priced per item. Encrypted reasoning from earlier
 * turns is counted at its byte length: it is decrypted back into prompt tokens upstream, and the
 * ciphertext (base64 of at least the plaintext) is never shorter than the text it carries.
 *
 * Responses counts reasoning inside `max_output_tokens`, so a request has no reasoning budget
 * outside its output limit: reasoning is held and billed as output.
 */

const MEDIA_PARTS = new Set(['input_image', 'input_file', 'input_audio']);
/** Top-level fields rendered into the prompt besides instructions and input. */
const PROMPT_FIELDS = ['tools', 'tool_choice', 'text'] as const;

type Tally = { bytes: number; media: number; items: number };

const bytesOf = (text: string) => Buffer.byteLength(text, 'utf8');
const jsonBytes = (value: unknown) => bytesOf(JSON.stringify(value) ?? '');

function tallyParts(content: unknown, tally: Tally): void {
  if (typeof content === 'string') {
    tally.bytes += bytesOf(content);
    return;
  }
  if (!Array.isArray(content)) return;
  for (const part of content) {
    if (!isRecord(part)) continue;
    if (typeof part.text === 'string') tally.bytes += bytesOf(part.text);
    else if (typeof part.refusal === 'string') tally.bytes += bytesOf(part.refusal);
    else if (typeof part.type === 'string' && MEDIA_PARTS.has(part.type)) tally.media += 1;
    else tally.bytes += jsonBytes(part);
  }
}

function tallyItem(item: Record<string, unknown>, tally: Tally): void {
  tally.items += 1;
  const type = item.type ?? 'message';
  if (type === 'message') tallyParts(item.content, tally);
  else if (type === 'function_call_output' || type === 'custom_tool_call_output') {
    tally.bytes += bytesOf(String(item.call_id ?? ''));
    tallyParts(item.output, tally);
  } else if (type === 'reasoning') {
    tallyParts(item.summary, tally);
    if (typeof item.encrypted_content === 'string') tally.bytes += bytesOf(item.encrypted_content);
    tallyParts(item.content, tally);
  }
  // Tool calls and anything else: their JSON covers names, ids and arguments.
  else tally.bytes += jsonBytes(item);
}

export function responsesPromptBound(body: Record<string, unknown>): PromptBound {
  const tally: Tally = { bytes: 0, media: 0, items: 0 };
  if (typeof body.instructions === 'string') {
    tally.items += 1;
    tally.bytes += bytesOf(body.instructions);
  }
  const input = body.input;
  if (typeof input === 'string') {
    tally.items += 1;
    tally.bytes += bytesOf(input);
  } else if (Array.isArray(input)) {
    for (const item of input) if (isRecord(item)) tallyItem(item, tally);
  }
  for (const field of PROMPT_FIELDS) if (body[field] !== undefined) tally.bytes += jsonBytes(body[field]);
  return {
    tokens: tally.bytes + tally.items * MESSAGE_OVERHEAD_TOKENS + REQUEST_OVERHEAD_TOKENS,
    textBytes: tally.bytes,
    messages: tally.items,
    mediaItems: tally.media,
  };
}

/** Writes the held output limit into the body, so the upstream never produces more than was held for. */
export function applyResponsesHeldLimit(body: Record<string, unknown>, held: OutputBudget): void {
  body.max_output_tokens = held.output + held.reasoning;
}
