import { isRecord } from './state.ts';

/**
 * The fake upstream's tokenizer, simple enough that a test can predict its counts:
 * - chat `messages`: for each message, ceil(UTF-8 bytes of its text / 4) + 3, summed. The text is
 *   a string `content`, or the `text` of every `{type: "text"}` part of an array `content`, added
 *   up before rounding; images, tool calls and other parts count nothing.
 * - `prompt` (legacy completions) and `input` (embeddings): ceil(UTF-8 bytes / 4) for each string,
 *   and 1 per number in a token-id array, summed over arrays.
 * Directives such as `[[fake:chunks=3]]` are part of the text and are counted like any other text.
 */

const BYTES_PER_TOKEN = 4;
const MESSAGE_OVERHEAD_TOKENS = 3;

function contentBytes(content: unknown): number {
  if (typeof content === 'string') return Buffer.byteLength(content);
  if (!Array.isArray(content)) return 0;
  let bytes = 0;
  for (const part of content) {
    if (isRecord(part) && part.type === 'text' && typeof part.text === 'string') bytes += Buffer.byteLength(part.text);
  }
  return bytes;
}

function textTokens(value: unknown): number {
  if (typeof value === 'string') return Math.ceil(Buffer.byteLength(value) / BYTES_PER_TOKEN);
  if (typeof value === 'number') return 1;
  if (!Array.isArray(value)) return 0;
  let tokens = 0;
  for (const item of value) tokens += textTokens(item);
  return tokens;
}

export function fakePromptTokens(body: unknown): number {
  if (!isRecord(body)) return 0;
  if (Array.isArray(body.messages)) {
    let tokens = 0;
    for (const message of body.messages) {
      tokens +=
        Math.ceil(contentBytes(isRecord(message) ? message.content : undefined) / BYTES_PER_TOKEN) +
        MESSAGE_OVERHEAD_TOKENS;
    }
    return tokens;
  }
  return textTokens(body.prompt ?? body.input);
}
