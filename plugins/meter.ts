import { nanosToUsdNumber } from '../core/money.ts';
import { readReportedUsage } from '../core/reported-usage.ts';
import { computeCharge, ESTIMATE_BYTES_PER_TOKEN, estimateUsage, trustedUsage } from '../ledger/charge.ts';
import type { RequestContext } from './context.ts';
import type { Services } from './services.ts';
import { noOptions } from './options.ts';
import type { Observer, PluginDefinition } from './types.ts';

/**
 * `meter`: reads usage from the answer as it passes — the final usage chunk of a stream or the
 * `usage` of a JSON body — and the upstream's generation id from the first chunk. The customer
 * sees their own price in `usage.cost`; the upstream's cost and cost details are removed.
 */

type UsagePayload = {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  cost?: unknown;
  cost_details?: unknown;
  is_byok?: unknown;
};
type Payload = { id?: unknown; model?: unknown; usage?: UsagePayload | null; choices?: unknown };

/**
 * A report no request of this shape could produce (negative, absurd, far beyond the dearest price
 * for its own usage) is not a bill: the request is settled by the estimate and flagged.
 */
function readUsage(ctx: RequestContext, services: Services, usage: UsagePayload): void {
  const reported = readReportedUsage([usage.prompt_tokens], [usage.completion_tokens], usage.cost);
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
  delete usage.cost_details;
  delete usage.is_byok;
  if (charge) usage.cost = nanosToUsdNumber(charge.levelPricesNanos.at(-1) ?? 0n);
  else delete usage.cost;
}

/** The text a JSON answer delivers, in tokens at the estimate's rate: what an estimate charges for. */
function deliveredTokens(payload: Payload): number {
  if (!Array.isArray(payload.choices)) return 0;
  let chars = 0;
  for (const choice of payload.choices as { message?: { content?: unknown; tool_calls?: unknown }; text?: unknown }[]) {
    const content = choice?.message?.content ?? choice?.text;
    if (typeof content === 'string') chars += content.length;
    if (choice?.message?.tool_calls !== undefined) chars += JSON.stringify(choice.message.tool_calls).length;
  }
  return Math.ceil(chars / ESTIMATE_BYTES_PER_TOKEN);
}

function noteIdentity(ctx: RequestContext, payload: Payload): void {
  const upstream = ctx.upstream;
  if (!upstream) return;
  if (upstream.generationId === null && typeof payload.id === 'string') upstream.generationId = payload.id;
  if (upstream.servedModel === null && typeof payload.model === 'string') upstream.servedModel = payload.model;
}

function streamObserver(ctx: RequestContext, services: Services): Observer {
  const wantsUsage = ctx.billed?.wantsUsageInStream ?? false;
  let first = true;
  return {
    event(data) {
      const upstream = ctx.upstream;
      // Only the first chunk (identity) and a usage chunk need parsing; content passes untouched.
      const mayHaveUsage = data.includes('"usage":{') || data.includes('"usage": {');
      if (!first && !mayHaveUsage) {
        if (upstream) upstream.contentEvents += 1;
        return data;
      }
      let payload: Payload;
      try {
        payload = JSON.parse(data) as Payload;
      } catch {
        return data;
      }
      if (first) noteIdentity(ctx, payload);
      first = false;
      const hasChoices = Array.isArray(payload.choices) && payload.choices.length > 0;
      if (hasChoices && upstream) upstream.contentEvents += 1;
      if (!payload.usage || typeof payload.usage !== 'object') return data;
      readUsage(ctx, services, payload.usage);
      if (!wantsUsage) {
        if (!hasChoices) return null;
        delete payload.usage;
      }
      return JSON.stringify(payload);
    },
    json() {},
  };
}

function jsonObserver(ctx: RequestContext, services: Services): Observer {
  return {
    event: (data) => data,
    json(body) {
      const payload = body as Payload;
      noteIdentity(ctx, payload);
      if (ctx.upstream) ctx.upstream.contentEvents = deliveredTokens(payload);
      if (payload.usage && typeof payload.usage === 'object') readUsage(ctx, services, payload.usage);
    },
  };
}

export const meter: PluginDefinition<Record<string, never>> = {
  name: 'meter',
  parseOptions: noOptions,
  create(_options, services) {
    return {
      name: 'meter',
      observe: (ctx) => (ctx.billed?.stream ? streamObserver(ctx, services) : jsonObserver(ctx, services)),
    };
  },
};
