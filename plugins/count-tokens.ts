import { estimateUsage } from '../ledger/charge.ts';
import { protocolOf } from '../protocols/registry.ts';
import { billedRequest } from '../protocols/request-body.ts';
import { noOptions } from './options.ts';
import type { PluginDefinition } from './types.ts';

/**
 * `count-tokens`: answers Anthropic's `POST /v1/messages/count_tokens` itself, free, with
 * `{input_tokens}`: the gateway's documented estimate of the prompt (its text at four bytes per
 * token plus the template overhead per message, core/prompt-bound.ts), and IMAGE_TOKENS per image
 * or document. No upstream is asked, so it works whichever channel would serve the model, and
 * costs nothing; the route still authenticates, rate-limits and checks the model.
 */

/** Anthropic's own estimate for an image of about 1,000 × 1,000 pixels. */
export const IMAGE_TOKENS = 1_600;

export const countTokens: PluginDefinition<Record<string, never>> = {
  name: 'count-tokens',
  parseOptions: noOptions,
  create() {
    return {
      name: 'count-tokens',
      async handle(ctx) {
        const billed = await billedRequest(ctx);
        const bound = protocolOf(billed.protocol).promptBound(billed.body);
        const inputTokens = estimateUsage(bound, 0).promptTokens + bound.mediaItems * IMAGE_TOKENS;
        return Response.json({ input_tokens: inputTokens });
      },
    };
  },
};
