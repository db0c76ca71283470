import { isRecord } from '../../core/billed-request.ts';
import {
  byteLength,
  MESSAGE_OVERHEAD_TOKENS,
  REQUEST_OVERHEAD_TOKENS,
  type PromptBound,
} from '../../core/prompt-bound.ts';

/**
 * The prompt bound (core/prompt-bound.ts) of a Messages request: the UTF-8 bytes of everything the
 * model reads — `system`, every block's text, tool inputs and results, earlier thinking, the tool
 * definitions and `tool_choice` — plus the template overhead per message; images and documents
 * (other than plain-text ones) are media items, priced per item.
 */

type Tally = { bytes: number; media: number };

function tallyBlock(block: unknown, tally: Tally): void {
  if (!isRecord(block)) return;
  switch (block.type) {
    case 'text':
      if (typeof block.text === 'string') tally.bytes += byteLength(block.text);
      return;
    case 'image':
      tally.media += 1;
      return;
    case 'document': {
      const source = block.source;
      if (isRecord(source) && source.type === 'text' && typeof source.data === 'string')
        tally.bytes += byteLength(source.data);
      else if (isRecord(source) && source.type === 'content') tallyContent(source.content, tally);
      else tally.media += 1;
      if (typeof block.title === 'string') tally.bytes += byteLength(block.title);
      if (typeof block.context === 'string') tally.bytes += byteLength(block.context);
      return;
    }
    case 'tool_result':
      tally.bytes += byteLength(String(block.tool_use_id ?? ''));
      tallyContent(block.content, tally);
      return;
    default:
      // tool_use (name and input), thinking (text and signature) and anything else: the JSON bounds its text.
      tally.bytes += byteLength(JSON.stringify(block));
  }
}

function tallyContent(content: unknown, tally: Tally): void {
  if (typeof content === 'string') tally.bytes += byteLength(content);
  else if (Array.isArray(content)) for (const block of content) tallyBlock(block, tally);
}

export function messagesPromptBound(body: Record<string, unknown>): PromptBound {
  const tally: Tally = { bytes: 0, media: 0 };
  let messages = 0;
  if (body.system !== undefined) {
    messages += 1;
    tallyContent(body.system, tally);
  }
  for (const message of Array.isArray(body.messages) ? body.messages : []) {
    if (!isRecord(message)) continue;
    messages += 1;
    tallyContent(message.content, tally);
  }
  for (const field of ['tools', 'tool_choice']) {
    if (body[field] !== undefined) tally.bytes += byteLength(JSON.stringify(body[field]));
  }
  return {
    tokens: tally.bytes + messages * MESSAGE_OVERHEAD_TOKENS + REQUEST_OVERHEAD_TOKENS,
    textBytes: tally.bytes,
    messages,
    mediaItems: tally.media,
  };
}
