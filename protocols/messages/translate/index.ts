import type { BilledRequest } from '../../../core/billed-request.ts';
import type { Translator } from '../../protocol.ts';
import { messagesToChatRequest } from './request.ts';
import { chatToMessagesResponse, type TranslationContext } from './response.ts';
import { ChatToMessagesEvents } from './stream.ts';

/**
 * The Messages protocol's translated mode over a channel that speaks only Chat Completions
 * (docs/claude-code.md, "Translated mode"): the request, the whole answer and the stream each
 * converted by the pure modules beside this one. The body translated is the one `balance` wrote
 * the held limits into, so the upstream never produces more than was held for.
 */

function contextOf(billed: BilledRequest): TranslationContext {
  const stops = billed.body.stop_sequences;
  return {
    model: billed.model,
    stopSequences: Array.isArray(stops) ? stops.filter((stop): stop is string => typeof stop === 'string') : [],
  };
}

export const chatTranslator: Translator = {
  upstream: 'chat',
  upstreamBody(billed, target, usageAccounting) {
    const chat = messagesToChatRequest(billed.body);
    chat.model = target.upstreamModel;
    if (usageAccounting) chat.usage = { include: true };
    return JSON.stringify(chat);
  },
  response: (upstream, billed) => chatToMessagesResponse(upstream, contextOf(billed)),
  stream(billed) {
    const events = new ChatToMessagesEvents(contextOf(billed));
    return { next: (data) => events.next(data) };
  },
};
