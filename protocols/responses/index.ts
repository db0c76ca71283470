import { isRecord, MAX_OUTPUT_TOKENS, type BilledRequest, type RequestProblem } from '../../core/billed-request.ts';
import { GatewayError } from '../../core/errors.ts';
import { DEFAULT_WEB_RESULTS, readHoldFlags } from '../../core/request-limits.ts';
import { candidateModels } from '../../core/openai-request.ts';
import type { ChannelTarget } from '../../upstream/channel-models.ts';
import type { Protocol, Translator } from '../protocol.ts';
import { bodyForChannel } from '../upstream-body.ts';
import { customToolNames } from './chat-tools.ts';
import { ChatToResponsesStream } from './chat-stream.ts';
import { responsesErrors } from './errors.ts';
import { chatToResponse } from './from-chat.ts';
import { responsesMeter } from './meter.ts';
import { applyResponsesHeldLimit, responsesPromptBound } from './prompt-bound.ts';
import { parseResponsesRequest, type ResponsesRequest } from './request.ts';
import { responsesToChat } from './to-chat.ts';

/**
 * OpenAI's Responses API (`POST /v1/responses`), what Codex, the Agents SDK and the openai SDK's
 * `responses` speak. Natively the client's body goes to the channel's `/responses` under the
 * channel's model id, and the SSE events come back byte for byte (the final event's cost, when the
 * upstream reports one, shows the customer's price). A channel that speaks only Chat Completions
 * serves it translated (./to-chat.ts, ./from-chat.ts, ./chat-stream.ts).
 */

/** Hosted web search bills per result like OpenRouter's web plugin: a request that offers it is held for it. */
const WEB_SEARCH_TOOLS = new Set(['web_search', 'web_search_preview', 'web_search_2025_08_26']);

function offersWebSearch(tools: unknown): boolean {
  return Array.isArray(tools) && tools.some((tool) => isRecord(tool) && WEB_SEARCH_TOOLS.has(String(tool.type)));
}

function parse(body: unknown): BilledRequest | RequestProblem {
  const request = parseResponsesRequest(body);
  if ('message' in request) return request;
  const candidates = candidateModels(request.body, request.model);
  if ('message' in candidates) return candidates;
  const flags = readHoldFlags(request.body, candidates, MAX_OUTPUT_TOKENS);
  if ('message' in flags) return flags;
  return {
    protocol: 'responses',
    body: request.body,
    model: request.model,
    candidateModels: candidates,
    stream: request.stream,
    requestedMaxTokens: request.maxOutputTokens,
    choices: 1,
    wantsUsageInStream: false,
    hold: {
      ...flags,
      // Responses counts reasoning inside max_output_tokens: there is no budget outside it.
      reasoningMaxTokens: null,
      webSearchResults: Math.max(flags.webSearchResults, offersWebSearch(request.body.tools) ? DEFAULT_WEB_RESULTS : 0),
    },
  };
}

/** The Responses view of a billed request (parsed once already, so it cannot fail). */
function requestOf(billed: BilledRequest): ResponsesRequest {
  const request = parseResponsesRequest(billed.body);
  if ('message' in request) throw new Error(`a billed Responses request no longer parses: ${request.message}`);
  return request;
}

/** OpenRouter's Responses endpoint reports usage and cost in every answer: the body goes as sent. */
const nativeBody = (billed: BilledRequest, target: ChannelTarget): string =>
  JSON.stringify(bodyForChannel(billed, target));

const throughChat: Translator = {
  upstream: 'chat',
  upstreamBody(billed, target, usageAccounting) {
    const translated = responsesToChat(requestOf(billed));
    if ('message' in translated) throw new GatewayError(400, 'invalid_request', translated.message, translated.param);
    const body = translated.chat;
    body.model = target.upstreamModel;
    if (usageAccounting) body.usage = { include: true };
    return JSON.stringify(body);
  },
  response: (upstream, billed) => chatToResponse(requestOf(billed), upstream, customToolNames(billed.body.tools)),
  stream(billed) {
    const translation = new ChatToResponsesStream(requestOf(billed), customToolNames(billed.body.tools));
    return { next: (data) => translation.next(data) };
  },
};

export const responses: Protocol = {
  name: 'responses',
  upstreamPath: '/responses',
  streams: true,
  parse,
  promptBound: responsesPromptBound,
  applyHeldLimits: applyResponsesHeldLimit,
  upstreamBody: nativeBody,
  passedHeaders: [],
  framing: { doneData: null, doneEvents: ['response.completed', 'response.incomplete', 'response.failed'] },
  meter: responsesMeter,
  errors: responsesErrors,
  requestIdHeader: null,
  translators: { chat: throughChat },
};
