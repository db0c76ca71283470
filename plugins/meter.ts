import { nanosToUsdNumber } from '../core/money.ts';
import type { ReportedUsage } from '../core/reported-usage.ts';
import { computeCharge, estimateUsage, trustedUsage } from '../ledger/charge.ts';
import type { UsageSink } from '../protocols/protocol.ts';
import { protocolOf } from '../protocols/registry.ts';
import type { RequestContext } from './context.ts';
import type { Services } from './services.ts';
import { noOptions } from './options.ts';
import type { PluginDefinition } from './types.ts';

/**
 * `meter`: reads usage from the answer as it passes, through the route's protocol
 * (protocols/protocol.ts `meter`: the final usage chunk of a stream, the `usage` of a JSON body,
 * Anthropic's message_start and message_delta), and judges and prices it here, the same for every
 * protocol. The customer sees their own price where the upstream reported its cost; the upstream's
 * cost never reaches them.
 */

/**
 * A report no request of this shape could produce (negative, absurd, far beyond the dearest price
 * for its own usage) is not a bill: the request is settled by the estimate and flagged.
 */
function sinkFor(services: Services): UsageSink<RequestContext> {
  return {
    usage(ctx, reported: ReportedUsage | undefined) {
      const delivered = ctx.upstream?.contentEvents ?? 0;
      if (ctx.pricing && ctx.hold) {
        const judged = reported
          ? trustedUsage(ctx.pricing, ctx.hold, { ...reported, source: 'upstream' }, delivered)
          : { usage: estimateUsage(ctx.pricing.bound, delivered), distrusted: true };
        ctx.usage = judged.usage;
        if (judged.distrusted) {
          ctx.usageDistrusted = true;
          services.log.warn('implausible usage from the upstream; settled by the estimate', { requestId: ctx.id });
        }
      } else if (reported) ctx.usage = { ...reported, source: 'upstream' };
      const charge = ctx.usage ? computeCharge(ctx, services.catalog, ctx.usage) : undefined;
      return charge ? nanosToUsdNumber(charge.levelPricesNanos.at(-1) ?? 0n) : undefined;
    },
  };
}

export const meter: PluginDefinition<Record<string, never>> = {
  name: 'meter',
  parseOptions: noOptions,
  create(_options, services) {
    const sink = sinkFor(services);
    return {
      name: 'meter',
      observe: (ctx) => (ctx.billed ? protocolOf(ctx.billed.protocol).meter(ctx, sink, ctx.billed.stream) : undefined),
    };
  },
};
