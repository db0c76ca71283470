import { isRecord, type RequestProblem } from '../../core/billed-request.ts';
import { chatToolChoice, chatTools, CUSTOM_TOOL_INPUT } from './chat-tools.ts';
import type { ResponsesRequest } from './request.ts';

/**
 * A Responses request as a Chat Completions request, for an upstream that speaks only chat.
 * `instructions` and developer messages become system messages; tool calls in the history become
 * an assistant message's `tool_calls` and their outputs `tool` messages. Reasoning items from
 * earlier turns are not sent: chat has no field for them (their encrypted content is only
 * readable by OpenAI). What chat cannot carry at all (stored files, built-in tools) is refused
 * with its `param`, never dropped.
 */

type ChatMessage = Record<string, unknown>;
type ToolCall = { id: string; type: 'function'; function: { name: string; arguments: string } };

/** Fields passed on under the same name, with the same meaning, in chat. */
const SAME_FIELDS = ['temperature', 'top_p', 'parallel_tool_calls', 'prompt_cache_key', 'service_tier', 'user'];

type Part = { part: Record<string, unknown> };

function imagePart(part: Record<string, unknown>, param: string): Part | RequestProblem {
  if (typeof part.image_url !== 'string')
    return { message: `${param}: stored files (file_id) cannot be sent to a chat upstream; send image_url`, param };
  const image: Record<string, unknown> = { url: part.image_url };
  if (typeof part.detail === 'string') image.detail = part.detail;
  return { part: { type: 'image_url', image_url: image } };
}

function filePart(part: Record<string, unknown>, param: string): Part | RequestProblem {
  const data = part.file_data ?? part.file_url;
  if (typeof data !== 'string')
    return { message: `${param}: stored files (file_id) cannot be sent to a chat upstream; send file_data`, param };
  return { part: { type: 'file', file: { filename: part.filename ?? 'file', file_data: data } } };
}

function chatPart(part: unknown, param: string): Part | RequestProblem {
  if (!isRecord(part)) return { message: `${param} must be an object`, param };
  if (part.type === 'input_image') return imagePart(part, param);
  if (part.type === 'input_file') return filePart(part, param);
  if (part.type === 'input_audio') return { part: { type: 'input_audio', input_audio: part.input_audio } };
  const text = typeof part.text === 'string' ? part.text : typeof part.refusal === 'string' ? part.refusal : '';
  return { part: { type: 'text', text } };
}

/** Message content for chat: a string stays one; parts map one by one (assistant text is joined). */
function chatContent(content: unknown, role: string, param: string): { content: unknown } | RequestProblem {
  if (typeof content === 'string') return { content };
  const parts: Record<string, unknown>[] = [];
  for (const [index, part] of (Array.isArray(content) ? content : []).entries()) {
    const mapped = chatPart(part, `${param}[${index}]`);
    if ('message' in mapped) return mapped;
    parts.push(mapped.part);
  }
  if (role !== 'user') return { content: parts.map((p) => (typeof p.text === 'string' ? p.text : '')).join('') };
  return { content: parts };
}

/** Tool output for a `tool` message: a string, or the text of its parts. */
function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (!Array.isArray(output)) return '';
  return output.map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join('');
}

class History {
  readonly messages: ChatMessage[] = [];

  push(message: ChatMessage): void {
    this.messages.push(message);
  }

  /** Consecutive calls share one assistant message, the one just before them when it has no calls yet. */
  call(call: ToolCall): void {
    const last = this.messages.at(-1);
    if (last && last.role === 'assistant') {
      const calls = (last.tool_calls as ToolCall[] | undefined) ?? [];
      last.tool_calls = [...calls, call];
      return;
    }
    this.messages.push({ role: 'assistant', content: null, tool_calls: [call] });
  }
}

function addItem(history: History, item: Record<string, unknown>, param: string): RequestProblem | undefined {
  const type = item.type ?? 'message';
  if (type === 'message') {
    const role = item.role === 'developer' ? 'system' : String(item.role);
    const content = chatContent(item.content, role, `${param}.content`);
    if ('message' in content) return content;
    history.push({ role, content: content.content });
  } else if (type === 'function_call' || type === 'custom_tool_call') {
    const args =
      type === 'function_call' ? String(item.arguments) : JSON.stringify({ [CUSTOM_TOOL_INPUT]: item.input });
    history.call({
      id: String(item.call_id),
      type: 'function',
      function: { name: String(item.name), arguments: args },
    });
  } else if (type === 'function_call_output' || type === 'custom_tool_call_output') {
    history.push({ role: 'tool', tool_call_id: item.call_id, content: outputText(item.output) });
  } else if (type !== 'reasoning') {
    return {
      message: `${param}: items of type "${String(type)}" cannot be sent to a chat upstream; use a route whose upstream speaks Responses.`,
      param,
    };
  }
  return undefined;
}

function chatMessages(body: Record<string, unknown>): ChatMessage[] | RequestProblem {
  const history = new History();
  if (typeof body.instructions === 'string' && body.instructions !== '')
    history.push({ role: 'system', content: body.instructions });
  const input = body.input;
  if (typeof input === 'string') history.push({ role: 'user', content: input });
  for (const [index, item] of (Array.isArray(input) ? input : []).entries()) {
    const found = isRecord(item) ? addItem(history, item, `input[${index}]`) : undefined;
    if (found) return found;
  }
  return history.messages;
}

function responseFormat(text: unknown): Record<string, unknown> | undefined {
  const format = isRecord(text) && isRecord(text.format) ? text.format : undefined;
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  const schema: Record<string, unknown> = { name: format.name, schema: format.schema };
  if (typeof format.strict === 'boolean') schema.strict = format.strict;
  if (typeof format.description === 'string') schema.description = format.description;
  return { type: 'json_schema', json_schema: schema };
}

/** OpenRouter's unified reasoning setting; its thinking text is hidden unless summaries were asked for. */
function chatReasoning(request: ResponsesRequest): Record<string, unknown> | undefined {
  const reasoning = request.body.reasoning;
  if (!isRecord(reasoning)) return undefined;
  const chat: Record<string, unknown> = {};
  if (typeof reasoning.effort === 'string') chat.effort = reasoning.effort;
  if (!request.wantsReasoningSummary) chat.exclude = true;
  return chat;
}

/** The Chat Completions body of a Responses request, or what cannot be translated. */
export function responsesToChat(request: ResponsesRequest): { chat: Record<string, unknown> } | RequestProblem {
  const body = request.body;
  const messages = chatMessages(body);
  if (!Array.isArray(messages)) return messages;
  const tools = chatTools(body.tools);
  if (!Array.isArray(tools)) return tools;
  const choice = chatToolChoice(body.tool_choice);
  if ('message' in choice) return choice;
  const chat: Record<string, unknown> = { model: request.model, messages };
  for (const field of SAME_FIELDS) if (body[field] !== undefined && body[field] !== null) chat[field] = body[field];
  if (typeof body.safety_identifier === 'string' && chat.user === undefined) chat.user = body.safety_identifier;
  if (tools.length > 0) chat.tools = tools;
  if (choice.choice !== undefined) chat.tool_choice = choice.choice;
  const format = responseFormat(body.text);
  if (format) chat.response_format = format;
  if (isRecord(body.text) && typeof body.text.verbosity === 'string') chat.verbosity = body.text.verbosity;
  const reasoning = chatReasoning(request);
  if (reasoning) chat.reasoning = reasoning;
  // The held limit (balance writes it into the body), else the client's.
  const limit = body.max_output_tokens ?? request.maxOutputTokens;
  if (typeof limit === 'number') chat.max_tokens = limit;
  if (request.stream) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  return { chat };
}
