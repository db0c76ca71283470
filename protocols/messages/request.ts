import {
  isRecord,
  MAX_OUTPUT_TOKENS,
  positiveInteger,
  type BilledRequest,
  type RequestProblem,
} from '../../core/billed-request.ts';
import { candidateModels } from '../../core/openai-request.ts';
import { readProviderPreferences } from '../../core/providers.ts';
import { DEFAULT_WEB_RESULTS, MAX_WEB_RESULTS } from '../../core/request-limits.ts';

/**
 * Shape checks for Anthropic's Messages request (`POST /v1/messages`), built for what Claude Code
 * and the Anthropic SDKs really send (../shared/AGENTIC-CLIENTS.md): `system` as a string or text
 * blocks, a `role: "system"` message inside `messages`, text / image / document / tool_use /
 * tool_result / thinking / redacted_thinking blocks, `cache_control` anywhere, 12–25 tools,
 * `thinking` enabled, adaptive or disabled, `output_config`, `context_management` and `metadata`.
 * What the gateway relies on is checked and reported with its `param`; block types it does not
 * know (server tool results, new kinds) pass to the upstream, which decides.
 */

/** Anthropic's smallest thinking budget. */
export const MIN_THINKING_BUDGET = 1_024;
const ROLES = new Set(['user', 'assistant', 'system']);
const TOOL_CHOICES = new Set(['auto', 'any', 'tool', 'none']);
const IMAGE_SOURCES = new Set(['base64', 'url', 'file']);
const DOCUMENT_SOURCES = new Set(['base64', 'url', 'file', 'text', 'content']);

type Problem = RequestProblem | undefined;
const problem = (param: string, message: string): RequestProblem => ({ message: `${param} ${message}`, param });

function checkSource(block: Record<string, unknown>, at: string, kinds: ReadonlySet<string>): Problem {
  const source = block.source;
  if (!isRecord(source) || typeof source.type !== 'string' || !kinds.has(source.type))
    return problem(`${at}.source`, `must be an object whose type is one of ${[...kinds].join(', ')}`);
  if (source.type === 'base64' && (typeof source.data !== 'string' || typeof source.media_type !== 'string'))
    return problem(`${at}.source`, 'of type base64 needs media_type and data strings');
  if (source.type === 'url' && typeof source.url !== 'string') return problem(`${at}.source.url`, 'must be a string');
  return undefined;
}

function checkBlock(block: unknown, at: string, inToolResult: boolean): Problem {
  if (!isRecord(block) || typeof block.type !== 'string')
    return problem(at, 'must be a content block object with a type');
  if (block.cache_control !== undefined && !isRecord(block.cache_control))
    return problem(`${at}.cache_control`, 'must be an object');
  switch (block.type) {
    case 'text':
      return typeof block.text === 'string' ? undefined : problem(`${at}.text`, 'must be a string');
    case 'image':
      return checkSource(block, at, IMAGE_SOURCES);
    case 'document':
      return checkSource(block, at, DOCUMENT_SOURCES);
    case 'tool_use':
      if (inToolResult) return problem(at, 'may not be a tool_use block inside a tool_result');
      if (typeof block.id !== 'string' || typeof block.name !== 'string')
        return problem(at, 'of type tool_use needs id and name strings');
      return isRecord(block.input) ? undefined : problem(`${at}.input`, 'must be an object');
    case 'tool_result': {
      if (inToolResult) return problem(at, 'may not nest a tool_result');
      if (typeof block.tool_use_id !== 'string') return problem(`${at}.tool_use_id`, 'must be a string');
      const content = block.content;
      if (content === undefined || typeof content === 'string') return undefined;
      if (!Array.isArray(content)) return problem(`${at}.content`, 'must be a string or an array of blocks');
      for (const [index, part] of content.entries()) {
        const found = checkBlock(part, `${at}.content[${index}]`, true);
        if (found) return found;
      }
      return undefined;
    }
    case 'thinking':
      if (typeof block.thinking !== 'string') return problem(`${at}.thinking`, 'must be a string');
      return typeof block.signature === 'string' ? undefined : problem(`${at}.signature`, 'must be a string');
    case 'redacted_thinking':
      return typeof block.data === 'string' ? undefined : problem(`${at}.data`, 'must be a string');
    default:
      return undefined;
  }
}

function checkContent(content: unknown, at: string): Problem {
  if (typeof content === 'string') return undefined;
  if (!Array.isArray(content)) return problem(at, 'must be a string or an array of content blocks');
  for (const [index, block] of content.entries()) {
    const found = checkBlock(block, `${at}[${index}]`, false);
    if (found) return found;
  }
  return undefined;
}

function checkMessages(messages: unknown): Problem {
  if (!Array.isArray(messages) || messages.length === 0) return problem('messages', 'must be a non-empty array');
  for (const [index, message] of messages.entries()) {
    const at = `messages[${index}]`;
    if (!isRecord(message) || typeof message.role !== 'string' || !ROLES.has(message.role))
      return problem(at, 'must be an object whose role is user, assistant or system');
    const found = checkContent(message.content, `${at}.content`);
    if (found) return found;
  }
  return undefined;
}

function checkSystem(system: unknown): Problem {
  if (system === undefined || typeof system === 'string') return undefined;
  if (!Array.isArray(system)) return problem('system', 'must be a string or an array of text blocks');
  for (const [index, block] of system.entries()) {
    if (!isRecord(block) || block.type !== 'text' || typeof block.text !== 'string')
      return problem(`system[${index}]`, 'must be a text block');
  }
  return undefined;
}

function checkTools(tools: unknown, toolChoice: unknown): Problem {
  if (tools !== undefined) {
    if (!Array.isArray(tools)) return problem('tools', 'must be an array');
    for (const [index, tool] of tools.entries()) {
      const at = `tools[${index}]`;
      if (!isRecord(tool) || typeof tool.name !== 'string' || tool.name.length === 0)
        return problem(at, 'must be an object with a name');
      // A custom tool (no type, or "custom") describes its input; server tools are typed and need none.
      if ((tool.type === undefined || tool.type === 'custom') && !isRecord(tool.input_schema))
        return problem(`${at}.input_schema`, 'must be a JSON Schema object');
    }
  }
  if (toolChoice === undefined) return undefined;
  if (!isRecord(toolChoice) || typeof toolChoice.type !== 'string' || !TOOL_CHOICES.has(toolChoice.type))
    return problem('tool_choice', 'must be an object whose type is auto, any, tool or none');
  if (toolChoice.type === 'tool' && typeof toolChoice.name !== 'string')
    return problem('tool_choice.name', 'must name the tool');
  return undefined;
}

function checkThinking(thinking: unknown, maxTokens: number): Problem {
  if (thinking === undefined) return undefined;
  if (!isRecord(thinking) || typeof thinking.type !== 'string')
    return problem('thinking', 'must be an object with a type');
  if (thinking.type === 'disabled' || thinking.type === 'adaptive') return undefined;
  if (thinking.type !== 'enabled') return problem('thinking.type', 'must be enabled, adaptive or disabled');
  const budget = thinking.budget_tokens;
  if (typeof budget !== 'number' || !Number.isInteger(budget) || budget < MIN_THINKING_BUDGET)
    return problem('thinking.budget_tokens', `must be an integer of at least ${MIN_THINKING_BUDGET}`);
  return budget < maxTokens ? undefined : problem('thinking.budget_tokens', 'must be less than max_tokens');
}

const isUnit = (value: unknown) => typeof value === 'number' && value >= 0 && value <= 1;

function checkSampling(body: Record<string, unknown>): Problem {
  if (body.temperature !== undefined && !isUnit(body.temperature))
    return problem('temperature', 'must be a number from 0 to 1');
  if (body.top_p !== undefined && !isUnit(body.top_p)) return problem('top_p', 'must be a number from 0 to 1');
  const topK = body.top_k;
  if (topK !== undefined && (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 0))
    return problem('top_k', 'must be a non-negative integer');
  const stops = body.stop_sequences;
  if (stops !== undefined && (!Array.isArray(stops) || !stops.every((s) => typeof s === 'string')))
    return problem('stop_sequences', 'must be an array of strings');
  const metadata = body.metadata;
  if (
    metadata !== undefined &&
    (!isRecord(metadata) || (metadata.user_id != null && typeof metadata.user_id !== 'string'))
  )
    return problem('metadata', 'must be an object whose user_id is a string');
  if (body.stream !== undefined && typeof body.stream !== 'boolean') return problem('stream', 'must be a boolean');
  return undefined;
}

/** Whether anything in the request marks a prompt-cache breakpoint (then cache writes are held for). */
function marksCache(body: Record<string, unknown>): boolean {
  if (body.cache_control !== undefined) return true;
  const marked = (list: unknown) =>
    Array.isArray(list) && list.some((item) => isRecord(item) && item.cache_control !== undefined);
  if (marked(body.system) || marked(body.tools)) return true;
  const messages = body.messages as Record<string, unknown>[];
  return messages.some((message) => marked(message.content));
}

/** Web search results the request may be billed for: Anthropic's server-side web search tool, up to its max_uses. */
function webSearchResults(tools: unknown): number | RequestProblem {
  if (!Array.isArray(tools)) return 0;
  let results = 0;
  for (const tool of tools as Record<string, unknown>[]) {
    if (typeof tool.type !== 'string' || !tool.type.startsWith('web_search')) continue;
    const uses = tool.max_uses ?? DEFAULT_WEB_RESULTS;
    if (typeof uses !== 'number' || !Number.isInteger(uses) || uses < 1 || uses > MAX_WEB_RESULTS)
      return problem('tools', `max_uses of a web search tool must be an integer from 1 to ${MAX_WEB_RESULTS}`);
    results += uses;
  }
  return results;
}

/**
 * The billed request of a Messages body. `max_tokens` is required, as Anthropic requires it;
 * `requireMaxTokens: false` reads a count_tokens body, which has none.
 */
export function parseMessagesRequest(body: unknown, requireMaxTokens = true): BilledRequest | RequestProblem {
  if (!isRecord(body)) return { message: 'the request body must be a JSON object', param: null };
  if (typeof body.model !== 'string' || body.model.length === 0)
    return { message: 'model is required and must be a string', param: 'model' };
  const maxTokens = positiveInteger(body, 'max_tokens', MAX_OUTPUT_TOKENS);
  if (isRecord(maxTokens)) return maxTokens;
  if (maxTokens === null && requireMaxTokens) return { message: 'max_tokens is required', param: 'max_tokens' };
  const found =
    checkMessages(body.messages) ??
    checkSystem(body.system) ??
    checkTools(body.tools, body.tool_choice) ??
    checkThinking(body.thinking, maxTokens ?? MAX_OUTPUT_TOKENS) ??
    checkSampling(body);
  if (found) return found;
  const results = webSearchResults(body.tools);
  if (typeof results !== 'number') return results;
  const providers = readProviderPreferences(body.provider);
  if (typeof providers === 'string') return { message: providers, param: 'provider' };
  const candidates = candidateModels(body, body.model);
  if ('message' in candidates) return candidates;
  return {
    protocol: 'messages',
    body,
    model: body.model,
    candidateModels: candidates,
    stream: body.stream === true,
    requestedMaxTokens: maxTokens,
    choices: 1,
    wantsUsageInStream: false,
    // Thinking tokens count inside max_tokens on Messages: no reasoning budget outside it.
    hold: { reasoningMaxTokens: null, webSearchResults: results, cacheBreakpoints: marksCache(body), providers },
  };
}
