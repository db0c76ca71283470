import { parseBilledRequest, type Endpoint } from '../../core/openai-request.ts';
import { promptBound } from '../../core/prompt-bound.ts';
import { applyHeldLimits } from '../../core/request-limits.ts';
import type { BilledRequest } from '../../core/billed-request.ts';
import type { ChannelTarget } from '../../upstream/channel-models.ts';
import type { Protocol, StreamFraming } from '../protocol.ts';
import { bodyForChannel } from '../upstream-body.ts';
import { openAiErrors } from './errors.ts';
import { openAiMeter } from './meter.ts';

/**
 * OpenAI's Chat Completions, legacy completions and embeddings: the three protocols every
 * OpenRouter-compatible channel speaks, and what the gateway spoke before the protocol layer.
 */

const OPENAI_FRAMING: StreamFraming = { doneData: '[DONE]', doneEvents: [] };

/** The client's body under the channel's model id, asking for the usage chunk and OpenRouter's usage accounting. */
function openAiBody(billed: BilledRequest, target: ChannelTarget, usageAccounting: boolean): string {
  const body = bodyForChannel(billed, target);
  if (billed.stream) {
    const clientOptions =
      typeof body.stream_options === 'object' && body.stream_options !== null ? body.stream_options : {};
    body.stream_options = { ...clientOptions, include_usage: true };
  }
  if (usageAccounting) body.usage = { include: true };
  return JSON.stringify(body);
}

function openAiProtocol(name: Endpoint, upstreamPath: string): Protocol {
  const embeddings = name === 'embeddings';
  return {
    name,
    upstreamPath,
    streams: !embeddings,
    parse: (body) => parseBilledRequest(name, body),
    promptBound: (body) => promptBound(name, body),
    applyHeldLimits: embeddings ? () => {} : applyHeldLimits,
    upstreamBody: openAiBody,
    passedHeaders: [],
    framing: OPENAI_FRAMING,
    meter: openAiMeter,
    errors: openAiErrors,
    requestIdHeader: null,
    translators: {},
  };
}

export const chat = openAiProtocol('chat', '/chat/completions');
export const completions = openAiProtocol('completions', '/completions');
export const embeddings = openAiProtocol('embeddings', '/embeddings');
