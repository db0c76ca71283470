import {
  isRecord,
  MAX_OUTPUT_TOKENS,
  positiveInteger,
  type BilledRequest,
  type ProtocolName,
  type RequestProblem,
} from './billed-request.ts';
import { readHoldFlags } from './request-limits.ts';

/**
 * Shape checks for the OpenAI-compatible request bodies the gateway bills. Only what the gateway
 * relies on is checked (and reported with the offending `param`); everything else passes through
 * to the upstream untouched, so OpenRouter's extras keep working.
 */

export type Endpoint = Extract<ProtocolName, 'chat' | 'completions' | 'embeddings'>;

const MAX_CHOICES = 16;
const MAX_FALLBACK_MODELS = 16;

function checkChat(body: Record<string, unknown>): RequestProblem | undefined {
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0)
    return { message: 'messages must be a non-empty array', param: 'messages' };
  for (const [index, message] of messages.entries()) {
    if (!isRecord(message) || typeof message.role !== 'string')
      return { message: `messages[${index}] must be an object with a role`, param: `messages[${index}]` };
    const content = message.content;
    if (content !== undefined && content !== null && typeof content !== 'string' && !Array.isArray(content)) {
      return {
        message: `messages[${index}].content must be a string or an array of parts`,
        param: `messages[${index}].content`,
      };
    }
  }
  return undefined;
}

function isTextOrTokens(value: unknown): boolean {
  if (typeof value === 'string') return true;
  if (!Array.isArray(value) || value.length === 0) return false;
  return value.every(
    (item) =>
      typeof item === 'string' ||
      typeof item === 'number' ||
      (Array.isArray(item) && item.every((t) => typeof t === 'number')),
  );
}

function checkEndpointFields(endpoint: Endpoint, body: Record<string, unknown>): RequestProblem | undefined {
  if (endpoint === 'chat') return checkChat(body);
  if (endpoint === 'completions' && !isTextOrTokens(body.prompt))
    return { message: 'prompt must be a string or an array of strings or tokens', param: 'prompt' };
  if (endpoint === 'embeddings' && !isTextOrTokens(body.input))
    return { message: 'input must be a string or an array of strings or tokens', param: 'input' };
  return undefined;
}

/**
 * The models a request may be served by: its `model` and OpenRouter's fallback `models`, which the
 * upstream honours on every protocol it serves, so model access and the hold must cover them all.
 */
export function candidateModels(body: Record<string, unknown>, model: string): string[] | RequestProblem {
  const models = body.models;
  if (models === undefined || models === null) return [model];
  if (
    !Array.isArray(models) ||
    models.length > MAX_FALLBACK_MODELS ||
    !models.every((m) => typeof m === 'string' && m.length > 0)
  ) {
    return { message: `models must be an array of at most ${MAX_FALLBACK_MODELS} model ids`, param: 'models' };
  }
  return [...new Set([model, ...(models as string[])])];
}

export function parseBilledRequest(endpoint: Endpoint, body: unknown): BilledRequest | RequestProblem {
  if (!isRecord(body)) return { message: 'the request body must be a JSON object', param: null };
  const fallbacks = Array.isArray(body.models) ? body.models : [];
  const model =
    typeof body.model === 'string' && body.model.length > 0
      ? body.model
      : typeof fallbacks[0] === 'string'
        ? fallbacks[0]
        : undefined;
  if (!model) return { message: 'model is required', param: 'model' };
  if (body.model !== undefined && typeof body.model !== 'string')
    return { message: 'model must be a string', param: 'model' };
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean')
    return { message: 'stream must be a boolean', param: 'stream' };
  const problem = checkEndpointFields(endpoint, body);
  if (problem) return problem;
  const maxTokens = positiveInteger(body, 'max_tokens', MAX_OUTPUT_TOKENS);
  if (typeof maxTokens === 'object' && maxTokens !== null) return maxTokens;
  const maxCompletionTokens = positiveInteger(body, 'max_completion_tokens', MAX_OUTPUT_TOKENS);
  if (typeof maxCompletionTokens === 'object' && maxCompletionTokens !== null) return maxCompletionTokens;
  const n = positiveInteger(body, 'n', MAX_CHOICES);
  if (typeof n === 'object' && n !== null) return n;
  const candidates = candidateModels(body, model);
  if (!Array.isArray(candidates)) return candidates;
  const hold = readHoldFlags(body, candidates, MAX_OUTPUT_TOKENS);
  if ('message' in hold) return hold;
  const streamOptions = body.stream_options;
  return {
    protocol: endpoint,
    body,
    model,
    candidateModels: candidates,
    stream: endpoint !== 'embeddings' && body.stream === true,
    requestedMaxTokens:
      maxCompletionTokens !== null && maxTokens !== null
        ? Math.min(maxCompletionTokens, maxTokens)
        : (maxCompletionTokens ?? maxTokens),
    choices: n ?? 1,
    wantsUsageInStream: isRecord(streamOptions) && streamOptions.include_usage === true,
    hold,
  };
}
