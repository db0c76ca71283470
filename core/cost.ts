import { FEMTOS_PER_NANO } from './money.ts';
import { priceNanos } from './pricing.ts';

/** A model's catalog price: nano-dollars per million tokens, and per request / per media item. */
export type ModelPrice = {
  promptNanosPerMtok: bigint;
  completionNanosPerMtok: bigint;
  requestNanos: bigint;
  imageNanos: bigint;
};

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
  };
}

export type HoldShape = { price: ModelPrice; promptTokens: number; mediaItems: number; choices: number };

/** What a request costs each level of the tenant chain if it produces `outputTokens` per choice. */
export function holdNanosPerLevel(shape: HoldShape, outputTokens: number, markupsBps: readonly number[]): bigint[] {
  const cost = catalogCostFemtos(shape.price, {
    promptTokens: shape.promptTokens,
    completionTokens: outputTokens * shape.choices,
    mediaItems: shape.mediaItems,
  });
  return markupsBps.map((_, level) => priceNanos(cost, markupsBps.slice(0, level + 1)));
}

/**
 * The largest output-token budget (≤ ceiling) whose hold fits within what each level was granted.
 * Prices are monotonic in the token count, so a binary search finds it exactly.
 */
export function affordableOutputTokens(
  shape: HoldShape,
  markupsBps: readonly number[],
  grantedNanos: readonly bigint[],
  ceiling: number,
): number {
  const fits = (tokens: number) =>
    holdNanosPerLevel(shape, tokens, markupsBps).every((need, level) => need <= (grantedNanos[level] ?? 0n));
  if (!fits(0)) return 0;
  let low = 0;
  let high = ceiling;
  while (low < high) {
    const middle = Math.floor((low + high + 1) / 2);
    if (fits(middle)) low = middle;
    else high = middle - 1;
  }
  return low;
}
