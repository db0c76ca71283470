import type { ModelPrice } from '../core/cost.ts';
import { FEMTOS_PER_NANO, usdPerTokenToNanosPerMtok } from '../core/money.ts';
import { ceilDiv } from '../core/pricing.ts';

/** Reading OpenRouter's `pricing` objects, the same in `/models` and in a model's `/endpoints`. */

/** OpenRouter's `pricing`: USD per token (or per item), as decimal strings. */
export type UpstreamPricing = {
  prompt?: unknown;
  completion?: unknown;
  request?: unknown;
  image?: unknown;
  web_search?: unknown;
  internal_reasoning?: unknown;
  input_cache_read?: unknown;
  input_cache_write?: unknown;
};

function perMtok(value: unknown): bigint | undefined {
  if (value === undefined || value === null) return 0n;
  return typeof value === 'string' || typeof value === 'number' ? usdPerTokenToNanosPerMtok(String(value)) : undefined;
}

/** Per-request, per-image and per-result prices are per item, not per token: scaled back from per-Mtok. */
function perItem(value: unknown): bigint | undefined {
  const scaled = perMtok(value);
  return scaled === undefined ? undefined : ceilDiv(scaled, FEMTOS_PER_NANO);
}

/**
 * Every component of an OpenRouter `pricing` object, or undefined when one is unusable: negative
 * prices (OpenRouter uses -1 for "variable", e.g. its auto router) cannot be held safely.
 */
export function priceFromUpstream(pricing: UpstreamPricing | undefined): ModelPrice | undefined {
  const price = {
    promptNanosPerMtok: perMtok(pricing?.prompt),
    completionNanosPerMtok: perMtok(pricing?.completion),
    requestNanos: perItem(pricing?.request),
    imageNanos: perItem(pricing?.image),
    webSearchNanos: perItem(pricing?.web_search),
    internalReasoningNanosPerMtok: perMtok(pricing?.internal_reasoning),
    inputCacheReadNanosPerMtok: perMtok(pricing?.input_cache_read),
    inputCacheWriteNanosPerMtok: perMtok(pricing?.input_cache_write),
  };
  return Object.values(price).every((v) => v !== undefined) ? (price as ModelPrice) : undefined;
}
