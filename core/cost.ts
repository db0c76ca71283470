import { FEMTOS_PER_NANO } from './money.ts';

/**
 * A model's catalog price, every component OpenRouter's `pricing` publishes: nano-dollars per
 * million tokens (prompt, completion, reasoning, cache reads and writes), and per request, per
 * input image and per web search result.
 */
export type ModelPrice = {
  promptNanosPerMtok: bigint;
  completionNanosPerMtok: bigint;
  requestNanos: bigint;
  imageNanos: bigint;
  webSearchNanos: bigint;
  internalReasoningNanosPerMtok: bigint;
  inputCacheReadNanosPerMtok: bigint;
  inputCacheWriteNanosPerMtok: bigint;
};

/** A price with only the four basic components, the others free (stored prices from before they were kept). */
export function basicPrice(
  promptNanosPerMtok: bigint,
  completionNanosPerMtok: bigint,
  requestNanos: bigint,
  imageNanos: bigint,
): ModelPrice {
  return {
    promptNanosPerMtok,
    completionNanosPerMtok,
    requestNanos,
    imageNanos,
    webSearchNanos: 0n,
    internalReasoningNanosPerMtok: 0n,
    inputCacheReadNanosPerMtok: 0n,
    inputCacheWriteNanosPerMtok: 0n,
  };
}

export type TokenUsage = { promptTokens: number; completionTokens: number; mediaItems: number };

/** Upstream cost of a usage at catalog prices, exact, in femto-dollars. */
export function catalogCostFemtos(price: ModelPrice, usage: TokenUsage): bigint {
  return (
    BigInt(usage.promptTokens) * price.promptNanosPerMtok +
    BigInt(usage.completionTokens) * price.completionNanosPerMtok +
    (price.requestNanos + BigInt(usage.mediaItems) * price.imageNanos) * FEMTOS_PER_NANO
  );
}

/** The most expensive of several candidate prices, component by component: a safe price for a hold. */
export function ceilingPrice(prices: readonly ModelPrice[]): ModelPrice {
  const max = (pick: (p: ModelPrice) => bigint) =>
    prices.reduce((m, p) => {
      const v = pick(p);
      return v > m ? v : m;
    }, 0n);
  return {
    promptNanosPerMtok: max((p) => p.promptNanosPerMtok),
    completionNanosPerMtok: max((p) => p.completionNanosPerMtok),
    requestNanos: max((p) => p.requestNanos),
    imageNanos: max((p) => p.imageNanos),
    webSearchNanos: max((p) => p.webSearchNanos),
    internalReasoningNanosPerMtok: max((p) => p.internalReasoningNanosPerMtok),
    inputCacheReadNanosPerMtok: max((p) => p.inputCacheReadNanosPerMtok),
    inputCacheWriteNanosPerMtok: max((p) => p.inputCacheWriteNanosPerMtok),
  };
}
