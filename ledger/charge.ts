import { catalogCostFemtos, type ModelPrice } from '../core/cost.ts';
import { FEMTOS_PER_NANO } from '../core/money.ts';
import { ceilDiv, chainPricesNanos } from '../core/pricing.ts';
import type { PromptBound } from '../core/prompt-bound.ts';
import { ESTIMATE_BYTES_PER_TOKEN, MESSAGE_OVERHEAD_TOKENS } from '../core/prompt-bound.ts';
import type { Catalog } from '../upstream/catalog.ts';
import type { ChannelTarget } from '../upstream/channel-models.ts';
import type { MeteredUsage } from '../core/reported-usage.ts';
import { usageBoundFemtos, WEB_RESULT_PROMPT_TOKENS } from '../core/hold-estimate.ts';
import type { HoldState, Pricing } from './types.ts';

/**
 * What a request costs and what each tenant level charges for it, computed the same way by
 * `meter` (to show the customer their price) and `debit` (to post it). Usage reported by the
 * upstream wins; its reported cost wins over catalog prices.
 */

export type Charge = { costFemtos: bigint; costNanos: bigint; levelPricesNanos: bigint[] };

/** The parts of a request a charge depends on. */
export type ChargeSubject = {
  pricing?: Pricing;
  model?: { price: ModelPrice };
  upstream?: { servedModel: string | null; served?: ChannelTarget | null };
};

/**
 * The charge follows the channel that served: its price table or the catalog's price only, when
 * that is its price source; else (OpenRouter-style) its reported cost, or the catalog price of
 * the model it says it served, or its price for the model asked.
 */
export function computeCharge(ctx: ChargeSubject, catalog: Catalog, usage: MeteredUsage): Charge | undefined {
  const pricing = ctx.pricing;
  if (!pricing) return undefined;
  const channel = ctx.upstream?.served;
  const { mediaItems } = pricing.bound;
  if (channel && channel.channel.priceSource !== 'reported')
    return chargeOf({ ...usage, upstreamCostFemtos: null }, channel.price, mediaItems, pricing.markupsBps);
  const servedModel = ctx.upstream?.servedModel;
  const served = (servedModel && catalog.get(servedModel)?.price) || channel?.price || ctx.model?.price;
  return chargeOf(usage, served ?? pricing.shape.price, mediaItems, pricing.markupsBps);
}

/** The charge of a usage at a catalog price (unless the upstream reported its cost), at each level's markup. */
export function chargeOf(
  usage: MeteredUsage,
  price: ModelPrice,
  mediaItems: number,
  markupsBps: readonly number[],
): Charge {
  const costFemtos =
    usage.upstreamCostFemtos ??
    catalogCostFemtos(price, {
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      mediaItems,
      cacheReadTokens: usage.cacheReadTokens,
      cacheWriteTokens: usage.cacheWriteTokens,
    });
  return {
    costFemtos,
    costNanos: ceilDiv(costFemtos, FEMTOS_PER_NANO),
    levelPricesNanos: chainPricesNanos(costFemtos, markupsBps),
  };
}

/**
 * The documented estimate for a request whose usage never arrived (a cut or abandoned stream with
 * no generation record): the prompt at four bytes per token plus the template overhead, and one
 * completion token per content event delivered. Flagged as an estimate on the request.
 */
export function estimateUsage(bound: PromptBound, contentEvents: number): MeteredUsage {
  return {
    promptTokens: Math.ceil(bound.textBytes / ESTIMATE_BYTES_PER_TOKEN) + bound.messages * MESSAGE_OVERHEAD_TOKENS,
    completionTokens: contentEvents,
    upstreamCostFemtos: null,
    source: 'estimate',
  };
}

/**
 * A report is refused as a bill (docs/architecture.md, settlement policy) when its cost is more
 * than this many times the catalog bound of its own usage at the dearest price the request could
 * be served at: far beyond any web search fee or provider surcharge (learning stops at 16×).
 */
export const DISTRUST_FACTOR = 100n;
/** Completion tokens a report may exceed the output budget it was held for (tokenizer and template differences). */
export const OUTPUT_SLACK_TOKENS = 64;
/** Prompt tokens an image, audio clip or file may count for: generous, since they are priced per item. */
export const MEDIA_ITEM_PROMPT_TOKENS = 100_000;

/** Whether an upstream's report is one a request of this shape and hold could produce. */
export function plausibleUsage(pricing: Pricing, hold: HoldState, usage: MeteredUsage): boolean {
  if (usage.source === 'estimate') return true;
  const shape = pricing.shape;
  if (usage.completionTokens > hold.maxOutputTokens * shape.choices + OUTPUT_SLACK_TOKENS) return false;
  const promptLimit =
    shape.promptTokens +
    shape.webSearchResults * WEB_RESULT_PROMPT_TOKENS +
    shape.mediaItems * MEDIA_ITEM_PROMPT_TOKENS;
  if (usage.promptTokens > 2 * promptLimit + OUTPUT_SLACK_TOKENS) return false;
  if (usage.upstreamCostFemtos === null) return true;
  return (
    usage.upstreamCostFemtos <= DISTRUST_FACTOR * usageBoundFemtos(shape, usage.promptTokens, usage.completionTokens)
  );
}

/**
 * The usage a request is settled by: the report when it is plausible, else the estimate from what
 * was delivered (`deliveredTokens`), flagged as distrusted.
 */
export function trustedUsage(
  pricing: Pricing,
  hold: HoldState,
  usage: MeteredUsage,
  deliveredTokens: number,
): { usage: MeteredUsage; distrusted: boolean } {
  if (plausibleUsage(pricing, hold, usage)) return { usage, distrusted: false };
  return { usage: estimateUsage(pricing.bound, deliveredTokens), distrusted: true };
}
