import { isRecord } from '../../../core/billed-request.ts';
import { assistantMessage, type ChatMessage, systemContent, untranslatable, userMessages } from './request-content.ts';

/**
 * A Messages request as a Chat Completions request, for an upstream that speaks only chat (the
 * translated mode). Every field is either translated, ignored for a stated reason, or refused with
 * a 400 `invalid_request_error` naming it: nothing the customer asked for is silently dropped.
 * The body is assumed to have passed the Messages protocol's own checks (model, max_tokens,
 * messages); what this reads beyond them it checks itself.
 */

/**
 * Fields with no chat counterpart that change nothing the answer means: `context_management`
 * (Claude Code's server-side clearing of old tool results, an economy: the whole history is sent
 * instead), a top-level `cache_control` (automatic caching, an economy too; the breakpoints on
 * blocks are kept) and `service_tier` (a scheduling preference).
 */
const IGNORED_FIELDS = new Set(['context_management', 'cache_control', 'service_tier']);
/** The same on both sides; `provider` is OpenRouter's routing preferences, which its chat API reads alike. */
const PASSED_FIELDS = ['max_tokens', 'temperature', 'top_p', 'top_k', 'provider'] as const;
const TRANSLATED_FIELDS = new Set([
  'model',
  'messages',
  'system',
  'stream',
  'stop_sequences',
  'metadata',
  'tools',
  'tool_choice',
  'thinking',
  'output_config',
  ...PASSED_FIELDS,
]);

/** Anthropic's effort levels as OpenRouter's reasoning efforts. */
const EFFORTS: Record<string, string> = { low: 'low', medium: 'medium', high: 'high', xhigh: 'xhigh', max: 'xhigh' };

function chatMessages(body: Record<string, unknown>): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (body.system !== undefined && body.system !== null)
    out.push({ role: 'system', content: systemContent(body.system, 'system') });
  const messages = body.messages;
  if (!Array.isArray(messages)) throw untranslatable('messages must be an array', 'messages');
  for (const [index, message] of messages.entries()) {
    const param = `messages[${index}]`;
    if (!isRecord(message)) throw untranslatable(`${param} must be an object`, param);
    if (message.role === 'user') out.push(...userMessages(message.content, `${param}.content`));
    else if (message.role === 'assistant') out.push(assistantMessage(message.content, `${param}.content`));
    // Claude Code sends one (its environment text); it is a chat system message as it stands.
    else if (message.role === 'system')
      out.push({ role: 'system', content: systemContent(message.content, `${param}.content`) });
    else throw untranslatable(`${param}.role must be user, assistant or system`, `${param}.role`);
  }
  return out;
}

function chatTool(tool: unknown, index: number): Record<string, unknown> {
  const param = `tools[${index}]`;
  if (!isRecord(tool)) throw untranslatable(`${param} must be an object`, param);
  if (tool.type !== undefined && tool.type !== null && tool.type !== 'custom')
    throw untranslatable(
      `the server tool ${JSON.stringify(tool.type)} is not available on this model's upstream; define it as a client tool with an input_schema`,
      `${param}.type`,
    );
  if (typeof tool.name !== 'string') throw untranslatable(`${param}.name must be a string`, `${param}.name`);
  if (!isRecord(tool.input_schema))
    throw untranslatable(`${param}.input_schema must be an object`, `${param}.input_schema`);
  // cache_control and defer_loading are economies of Anthropic's own servers: the tool is sent whole.
  const fn: Record<string, unknown> = { name: tool.name, parameters: tool.input_schema };
  if (typeof tool.description === 'string') fn.description = tool.description;
  if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
  return { type: 'function', function: fn };
}

function toolChoice(choice: unknown, chat: Record<string, unknown>): void {
  if (!isRecord(choice)) throw untranslatable('tool_choice must be an object', 'tool_choice');
  if (choice.disable_parallel_tool_use === true) chat.parallel_tool_calls = false;
  if (choice.type === 'auto') chat.tool_choice = 'auto';
  else if (choice.type === 'any') chat.tool_choice = 'required';
  else if (choice.type === 'none') chat.tool_choice = 'none';
  else if (choice.type === 'tool') {
    if (typeof choice.name !== 'string') throw untranslatable('tool_choice.name must be a string', 'tool_choice.name');
    chat.tool_choice = { type: 'function', function: { name: choice.name } };
  } else throw untranslatable('tool_choice.type must be auto, any, tool or none', 'tool_choice.type');
}

/** `thinking` and `output_config` together: OpenRouter's `reasoning` and `response_format`. */
function reasoning(body: Record<string, unknown>, chat: Record<string, unknown>): void {
  const config = body.output_config;
  let effort: string | undefined;
  if (config !== undefined && config !== null) {
    if (!isRecord(config)) throw untranslatable('output_config must be an object', 'output_config');
    for (const key of Object.keys(config))
      if (key !== 'effort' && key !== 'format')
        throw untranslatable(`output_config.${key} cannot be sent to this model's upstream`, `output_config.${key}`);
    if (config.effort !== undefined) {
      effort =
        typeof config.effort === 'string' && Object.hasOwn(EFFORTS, config.effort) ? EFFORTS[config.effort] : undefined;
      if (effort === undefined)
        throw untranslatable('output_config.effort must be low, medium, high, xhigh or max', 'output_config.effort');
    }
    if (config.format !== undefined && config.format !== null) chat.response_format = responseFormat(config.format);
  }
  const thinking = body.thinking;
  if (thinking === undefined || thinking === null) {
    if (effort !== undefined) chat.reasoning = { effort };
    return;
  }
  if (!isRecord(thinking)) throw untranslatable('thinking must be an object', 'thinking');
  if (thinking.type === 'enabled') {
    const budget = thinking.budget_tokens;
    if (typeof budget !== 'number' || !Number.isInteger(budget) || budget < 1)
      throw untranslatable('thinking.budget_tokens must be a positive integer', 'thinking.budget_tokens');
    // OpenRouter takes a budget or an effort, not both: the budget is the more exact of the two.
    chat.reasoning = { max_tokens: budget };
  } else if (thinking.type === 'adaptive') chat.reasoning = effort === undefined ? { enabled: true } : { effort };
  else if (thinking.type !== 'disabled')
    throw untranslatable('thinking.type must be enabled, adaptive or disabled', 'thinking.type');
}

function responseFormat(format: unknown): Record<string, unknown> {
  if (!isRecord(format) || format.type !== 'json_schema' || !isRecord(format.schema))
    throw untranslatable('output_config.format must be {type: "json_schema", schema}', 'output_config.format');
  return { type: 'json_schema', json_schema: { name: 'output', schema: format.schema, strict: true } };
}

function copyScalars(body: Record<string, unknown>, chat: Record<string, unknown>): void {
  for (const field of PASSED_FIELDS) if (body[field] !== undefined && body[field] !== null) chat[field] = body[field];
  const stops = body.stop_sequences;
  if (stops !== undefined && stops !== null) {
    if (!Array.isArray(stops) || !stops.every((stop) => typeof stop === 'string'))
      throw untranslatable('stop_sequences must be an array of strings', 'stop_sequences');
    if (stops.length > 0) chat.stop = stops;
  }
  const metadata = body.metadata;
  if (metadata !== undefined && metadata !== null) {
    if (!isRecord(metadata)) throw untranslatable('metadata must be an object', 'metadata');
    for (const key of Object.keys(metadata))
      if (key !== 'user_id') throw untranslatable(`metadata.${key} is not a Messages field`, `metadata.${key}`);
    if (typeof metadata.user_id === 'string') chat.user = metadata.user_id;
  }
  if (body.stream === true) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
}

/** The chat body for a Messages body; throws a 400 `GatewayError` naming what cannot be translated. */
export function messagesToChatRequest(body: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(body))
    if (!TRANSLATED_FIELDS.has(key) && !IGNORED_FIELDS.has(key))
      throw untranslatable(`${key} cannot be sent to this model's upstream, which does not speak Messages`, key);
  const chat: Record<string, unknown> = { model: body.model, messages: chatMessages(body) };
  copyScalars(body, chat);
  if (body.tools !== undefined && body.tools !== null) {
    if (!Array.isArray(body.tools)) throw untranslatable('tools must be an array', 'tools');
    if (body.tools.length > 0) chat.tools = body.tools.map(chatTool);
  }
  if (body.tool_choice !== undefined && body.tool_choice !== null) toolChoice(body.tool_choice, chat);
  reasoning(body, chat);
  return chat;
}
