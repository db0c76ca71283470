import { GatewayError } from '../../../core/errors.ts';
import { isRecord } from '../../../core/billed-request.ts';

/**
 * Anthropic content blocks as Chat Completions content parts and messages (the translated mode of
 * the Messages protocol). The chat dialect is OpenRouter's: `cache_control` rides on text parts
 * (OpenRouter passes it to the providers that cache), PDFs go as `file` parts, and earlier thinking
 * goes back as `reasoning_details`. A block the chat side cannot carry is refused, never dropped.
 */

type ChatPart = Record<string, unknown>;
export type ChatMessage = Record<string, unknown>;

export const untranslatable = (message: string, param: string) =>
  new GatewayError(400, 'invalid_request', message, param);

function text(value: unknown, param: string): string {
  if (typeof value !== 'string') throw untranslatable(`${param} must be a string`, param);
  return value;
}

function blocksOf(content: unknown, param: string): Record<string, unknown>[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw untranslatable(`${param} must be a string or an array of blocks`, param);
  return content.map((block, index) => {
    if (!isRecord(block) || typeof block.type !== 'string')
      throw untranslatable(`${param}[${index}] must be a block with a type`, `${param}[${index}]`);
    return block;
  });
}

/** `cache_control` is kept on the part it marks: OpenRouter reads breakpoints there. */
function textPart(value: string, block: Record<string, unknown>): ChatPart {
  return isRecord(block.cache_control)
    ? { type: 'text', text: value, cache_control: block.cache_control }
    : { type: 'text', text: value };
}

function imagePart(block: Record<string, unknown>, param: string): ChatPart {
  const source = block.source;
  if (!isRecord(source)) throw untranslatable(`${param}.source must be an object`, `${param}.source`);
  if (source.type === 'base64') {
    const mediaType = text(source.media_type, `${param}.source.media_type`);
    return {
      type: 'image_url',
      image_url: { url: `data:${mediaType};base64,${text(source.data, `${param}.source.data`)}` },
    };
  }
  if (source.type === 'url') return { type: 'image_url', image_url: { url: text(source.url, `${param}.source.url`) } };
  throw untranslatable(
    `an image source of type ${JSON.stringify(source.type)} cannot be sent to this model's upstream (use base64 or url)`,
    `${param}.source.type`,
  );
}

function documentPart(block: Record<string, unknown>, param: string): ChatPart {
  const source = block.source;
  if (!isRecord(source)) throw untranslatable(`${param}.source must be an object`, `${param}.source`);
  if (isRecord(block.citations) && block.citations.enabled === true)
    throw untranslatable('document citations cannot be produced by this model', `${param}.citations`);
  const title = typeof block.title === 'string' && block.title !== '' ? block.title : null;
  const context = typeof block.context === 'string' && block.context !== '' ? block.context : null;
  if (source.type === 'text') {
    const body = text(source.data, `${param}.source.data`);
    return textPart([title, context, body].filter((piece) => piece !== null).join('\n\n'), block);
  }
  // A file part has a name but no room for prose beside it.
  if (context !== null)
    throw untranslatable('the context of a PDF document cannot be sent to this model', `${param}.context`);
  const filename = title ?? 'document.pdf';
  if (source.type === 'base64') {
    const mediaType = text(source.media_type, `${param}.source.media_type`);
    const data = `data:${mediaType};base64,${text(source.data, `${param}.source.data`)}`;
    return { type: 'file', file: { filename, file_data: data } };
  }
  if (source.type === 'url')
    return { type: 'file', file: { filename, file_data: text(source.url, `${param}.source.url`) } };
  throw untranslatable(
    `a document source of type ${JSON.stringify(source.type)} cannot be sent to this model's upstream (use text, base64 or url)`,
    `${param}.source.type`,
  );
}

/** The parts of a user (or system) turn: text, images and documents. */
function userPart(block: Record<string, unknown>, param: string): ChatPart {
  if (block.type === 'text') return textPart(text(block.text, `${param}.text`), block);
  if (block.type === 'image') return imagePart(block, param);
  if (block.type === 'document') return documentPart(block, param);
  throw untranslatable(
    `a ${JSON.stringify(block.type)} block cannot be sent to this model's upstream`,
    `${param}.type`,
  );
}

/** A system prompt, as a string or text blocks, as the content of a chat `system` message. */
export function systemContent(system: unknown, param: string): string | ChatPart[] {
  const parts = blocksOf(system, param).map((block, index) => {
    if (block.type !== 'text') throw untranslatable('system blocks must be text blocks', `${param}[${index}].type`);
    return textPart(text(block.text, `${param}[${index}].text`), block);
  });
  return plainOrParts(parts);
}

/** A plain string when no part carries more than text: the widest-understood chat content. */
function plainOrParts(parts: ChatPart[]): string | ChatPart[] {
  if (parts.every((part) => part.type === 'text' && part.cache_control === undefined))
    return parts.map((part) => part.text as string).join('\n\n');
  return parts;
}

/**
 * A `tool_result` block as a chat `tool` message. A chat tool message holds text only, so the
 * result's images and documents come back separately, to go in a user message after the tool messages.
 */
function toolResult(block: Record<string, unknown>, param: string): { message: ChatMessage; attachments: ChatPart[] } {
  const id = text(block.tool_use_id, `${param}.tool_use_id`);
  const texts: string[] = [];
  const attachments: ChatPart[] = [];
  const content = block.content === undefined ? [] : blocksOf(block.content, `${param}.content`);
  for (const [index, inner] of content.entries()) {
    const innerParam = `${param}.content[${index}]`;
    if (inner.type === 'text') texts.push(text(inner.text, `${innerParam}.text`));
    else if (inner.type === 'image') attachments.push(imagePart(inner, innerParam));
    else if (inner.type === 'document') attachments.push(documentPart(inner, innerParam));
    else throw untranslatable(`a tool result cannot hold a ${JSON.stringify(inner.type)} block`, `${innerParam}.type`);
  }
  if (attachments.length > 0) texts.push(`(${attachments.length} attachment(s) follow in the next user message)`);
  const body = texts.join('\n\n');
  // Chat has no error flag on a tool result: the model reads it from the text, as Anthropic's does.
  const message = { role: 'tool', tool_call_id: id, content: block.is_error === true ? `Error: ${body}` : body };
  return { message, attachments };
}

/**
 * A user turn: its tool results first, as `tool` messages (chat wants them right after the
 * assistant's tool calls), then one user message with everything else.
 */
export function userMessages(content: unknown, param: string): ChatMessage[] {
  const tools: ChatMessage[] = [];
  const parts: ChatPart[] = [];
  for (const [index, block] of blocksOf(content, param).entries()) {
    if (block.type === 'tool_result') {
      const { message, attachments } = toolResult(block, `${param}[${index}]`);
      tools.push(message);
      parts.push(...attachments);
    } else parts.push(userPart(block, `${param}[${index}]`));
  }
  if (parts.length === 0) return tools;
  return [...tools, { role: 'user', content: typeof content === 'string' ? content : partsContent(parts) }];
}

/** User content keeps its parts (images, breakpoints) unless it is text alone. */
function partsContent(parts: ChatPart[]): string | ChatPart[] {
  return parts.length === 1 && parts[0]?.type === 'text' && parts[0].cache_control === undefined
    ? (parts[0].text as string)
    : parts;
}

/** An earlier `thinking` or `redacted_thinking` block, as OpenRouter's reasoning detail. */
function reasoningDetail(block: Record<string, unknown>, param: string): Record<string, unknown> {
  if (block.type === 'redacted_thinking')
    return { type: 'reasoning.encrypted', data: text(block.data, `${param}.data`), format: 'anthropic-claude-v1' };
  const detail: Record<string, unknown> = { type: 'reasoning.text', text: text(block.thinking, `${param}.thinking`) };
  if (typeof block.signature === 'string' && block.signature !== '') detail.signature = block.signature;
  detail.format = 'anthropic-claude-v1';
  return detail;
}

/** An assistant turn: its text, its tool calls, and its thinking as reasoning details. */
export function assistantMessage(content: unknown, param: string): ChatMessage {
  if (typeof content === 'string') return { role: 'assistant', content };
  const texts: string[] = [];
  const calls: Record<string, unknown>[] = [];
  const details: Record<string, unknown>[] = [];
  for (const [index, block] of blocksOf(content, param).entries()) {
    const blockParam = `${param}[${index}]`;
    if (block.type === 'text') texts.push(text(block.text, `${blockParam}.text`));
    else if (block.type === 'tool_use') {
      const input = block.input === undefined ? {} : block.input;
      if (!isRecord(input)) throw untranslatable(`${blockParam}.input must be an object`, `${blockParam}.input`);
      const name = text(block.name, `${blockParam}.name`);
      const id = text(block.id, `${blockParam}.id`);
      calls.push({ id, type: 'function', function: { name, arguments: JSON.stringify(input) } });
    } else if (block.type === 'thinking' || block.type === 'redacted_thinking')
      details.push(reasoningDetail(block, blockParam));
    else
      throw untranslatable(
        `an assistant turn cannot hold a ${JSON.stringify(block.type)} block here`,
        `${blockParam}.type`,
      );
  }
  const joined = texts.join('');
  // Chat wants null beside tool calls and a string otherwise.
  const message: ChatMessage = { role: 'assistant', content: joined === '' && calls.length > 0 ? null : joined };
  if (calls.length > 0) message.tool_calls = calls;
  if (details.length > 0) message.reasoning_details = details;
  return message;
}
