import { isRecord } from '../../core/billed-request.ts';
import type { OutputBudget } from '../../core/hold-estimate.ts';
import type { Protocol } from '../protocol.ts';
import { bodyForChannel } from '../upstream-body.ts';
import { anthropicErrors } from './errors.ts';
import { messagesMeter } from './meter.ts';
import { messagesPromptBound } from './prompt-bound.ts';
import { MIN_THINKING_BUDGET, parseMessagesRequest } from './request.ts';
import { chatTranslator } from './translate/index.ts';

/**
 * Anthropic's Messages API (`POST /v1/messages`), what Claude Code and the Anthropic SDKs speak.
 * Natively, the client's body goes to the channel's `/messages` under the channel's model id with
 * `anthropic-version` and `anthropic-beta` passed on, and the SSE stream comes back byte for byte
 * (`message_start`, `content_block_*`, `message_delta`, `message_stop`, `ping`, `error`).
 */

/** What Anthropic requires; Claude Code sends 2023-06-01. */
export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

/**
 * The held output limit is `max_tokens`. Thinking tokens count inside it, so a thinking budget
 * the lowered limit no longer leaves room for is lowered with it, or thinking turned off below
 * Anthropic's smallest budget.
 */
function applyHeldLimits(body: Record<string, unknown>, held: OutputBudget): void {
  body.max_tokens = held.output;
  const thinking = body.thinking;
  if (!isRecord(thinking) || thinking.type !== 'enabled' || typeof thinking.budget_tokens !== 'number') return;
  if (thinking.budget_tokens < held.output) return;
  body.thinking =
    held.output - 1 >= MIN_THINKING_BUDGET ? { ...thinking, budget_tokens: held.output - 1 } : { type: 'disabled' };
}

export const messages: Protocol = {
  name: 'messages',
  upstreamPath: '/messages',
  streams: true,
  parse: (body) => parseMessagesRequest(body),
  promptBound: messagesPromptBound,
  applyHeldLimits,
  upstreamBody: (billed, target) => JSON.stringify(bodyForChannel(billed, target)),
  passedHeaders: [
    ['anthropic-version', DEFAULT_ANTHROPIC_VERSION],
    ['anthropic-beta', null],
  ],
  framing: { doneData: null, doneEvents: ['message_stop'] },
  meter: messagesMeter,
  errors: anthropicErrors,
  requestIdHeader: 'request-id',
  translators: { chat: chatTranslator },
};

/** `POST /v1/messages/count_tokens`: the same body without `max_tokens`, answered by the gateway (plugins/count-tokens.ts). */
export const messagesCountTokens: Protocol = {
  ...messages,
  upstreamPath: '/messages/count_tokens',
  parse: (body) => parseMessagesRequest(body, false),
};
