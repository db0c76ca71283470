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

export type TokenUsage = {
  promptTokens: number;
  completionTokens: number;
  mediaItems: number;
  /** Prompt tokens (part of promptTokens) read from and written to the prompt cache, when reported apart. */
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
};

/**
 * Upstream cost of a usage at catalog prices, exact, in femto-dollars. Cached prompt tokens are
 * priced at the cache-read and cache-write prices; a price the catalog does not publish (0) is
 * the prompt price, so an unknown cache price never makes tokens free.
 */
export function catalogCostFemtos(price: ModelPrice, usage: TokenUsage): bigint {
  const read = usage.cacheReadTokens ?? 0;
  const written = usage.cacheWriteTokens ?? 0;
  const prompt = price.promptNanosPerMtok;
  const cached =
    read + written === 0
      ? 0n
      : BigInt(read) * (price.inputCacheReadNanosPerMtok || prompt) +
        BigInt(written) * (price.inputCacheWriteNanosPerMtok || prompt);
  return (
    BigInt(Math.max(usage.promptTokens - read - written, 0)) * prompt +
    cached +
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
