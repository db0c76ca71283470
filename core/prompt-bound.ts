import type { Endpoint } from './openai-request.ts';

/**
 * An upper bound on a prompt's token count, for holds that must never be too small. Byte-level BPE
 * tokenizers never produce more tokens than the UTF-8 bytes they encode, so the byte length of all
 * text the model sees bounds its tokens; each message adds at most MESSAGE_OVERHEAD_TOKENS of chat
 * template (role markers, separators), and the request at most REQUEST_OVERHEAD_TOKENS. Media parts
 * (images, audio, files) are counted apart and priced per item.
 */

export const MESSAGE_OVERHEAD_TOKENS = 8;
/** Typical tokenizers average about four bytes of text per token: what estimates use (the bound stays the hold's job). */
export const ESTIMATE_BYTES_PER_TOKEN = 4;
export const REQUEST_OVERHEAD_TOKENS = 16;
const MEDIA_PART_TYPES = new Set(['image_url', 'input_audio', 'file', 'input_image', 'image', 'audio', 'video_url']);

export type PromptBound = { tokens: number; textBytes: number; messages: number; mediaItems: number };

const encoder = new TextEncoder();

/** UTF-8 bytes of a string: a bound on its tokens. */
export function byteLength(text: string): number {
  // Fast path: ASCII text is one byte per character.
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return encoder.encode(text).length;
  return text.length;
}

type Tally = { bytes: number; media: number };

function tallyContent(content: unknown, tally: Tally): void {
  if (typeof content === 'string') {
    tally.bytes += byteLength(content);
    return;
  }
  if (!Array.isArray(content)) return;
  for (const part of content) {
    if (typeof part !== 'object' || part === null) continue;
    const { type, text } = part as { type?: unknown; text?: unknown };
    if (typeof text === 'string') tally.bytes += byteLength(text);
    else if (typeof type === 'string' && MEDIA_PART_TYPES.has(type)) tally.media += 1;
    else tally.bytes += byteLength(JSON.stringify(part));
  }
}

/** Everything besides content that a chat template renders into the prompt. */
function tallyMessageExtras(message: Record<string, unknown>, tally: Tally): void {
  for (const field of ['name', 'tool_call_id', 'reasoning']) {
    const value = message[field];
    if (typeof value === 'string') tally.bytes += byteLength(value);
  }
  if (message.tool_calls !== undefined) tally.bytes += byteLength(JSON.stringify(message.tool_calls));
  if (message.function_call !== undefined) tally.bytes += byteLength(JSON.stringify(message.function_call));
}

function tallyText(value: unknown, tally: Tally): number {
  if (typeof value === 'string') {
    tally.bytes += byteLength(value);
    return 1;
  }
  if (!Array.isArray(value)) return 0;
  let items = 0;
  for (const item of value) {
    if (typeof item === 'string') tally.bytes += byteLength(item);
    // A pre-tokenized input is exactly its token count (one slot per token, counted as a byte).
    else if (typeof item === 'number') tally.bytes += 1;
    else if (Array.isArray(item)) tally.bytes += item.length;
    items += typeof item === 'number' ? 0 : 1;
  }
  return Math.max(items, 1);
}

export function promptBound(endpoint: Endpoint, body: Record<string, unknown>): PromptBound {
  const tally: Tally = { bytes: 0, media: 0 };
  let messages = 0;
  if (endpoint === 'chat') {
    for (const message of Array.isArray(body.messages) ? body.messages : []) {
      if (typeof message !== 'object' || message === null) continue;
      messages += 1;
      tallyContent((message as Record<string, unknown>).content, tally);
      tallyMessageExtras(message as Record<string, unknown>, tally);
    }
    for (const field of ['tools', 'functions', 'tool_choice', 'response_format']) {
      if (body[field] !== undefined) tally.bytes += byteLength(JSON.stringify(body[field]));
    }
  } else {
    messages = tallyText(endpoint === 'completions' ? body.prompt : body.input, tally);
    if (endpoint === 'completions' && typeof body.suffix === 'string') tally.bytes += byteLength(body.suffix);
  }
  return {
    tokens: tally.bytes + messages * MESSAGE_OVERHEAD_TOKENS + REQUEST_OVERHEAD_TOKENS,
    textBytes: tally.bytes,
    messages,
    mediaItems: tally.media,
  };
}
