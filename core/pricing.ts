import { FEMTOS_PER_NANO } from './money.ts';

/**
 * The price function. A tenant chain [root, …, leaf] each applies its own markup (basis points,
 * 2000 = 20%) to what it pays, so the price at level i is cost × Π_{j≤i} (1 + m_j).
 *
 * Rounding: the exact product is computed in integers and rounded up to the next nano-dollar,
 * once, at the end. Intermediate levels are never rounded, so each level's price is the same
 * whether computed alone or as part of a chain, and a price is never below its cost.
 */
export function priceNanos(costFemtos: bigint, markupsBps: readonly number[]): bigint {
  if (costFemtos < 0n) throw new RangeError('cost must not be negative');
  let numerator = costFemtos;
  let denominator = FEMTOS_PER_NANO;
  for (const markup of markupsBps) {
    if (!Number.isInteger(markup) || markup < 0)
      throw new RangeError('markup must be a non-negative integer of basis points');
    numerator *= 10_000n + BigInt(markup);
    denominator *= 10_000n;
  }
  return ceilDiv(numerator, denominator);
}

/** Prices at every level of a chain: element i is what level i charges the level below it. */
export function chainPricesNanos(costFemtos: bigint, markupsBps: readonly number[]): bigint[] {
  return markupsBps.map((_, level) => priceNanos(costFemtos, markupsBps.slice(0, level + 1)));
}

export function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  return numerator % denominator === 0n ? quotient : quotient + 1n;
}

export type PricingRule = { pattern: string; markupBps: number; priority: number };

const globCache = new Map<string, RegExp>();
const GLOB_CACHE_LIMIT = 1_000;

/** `*` matches any run of characters (slashes too: `openai/*`), `?` exactly one. */
export function globMatches(pattern: string, modelId: string): boolean {
  let regex = globCache.get(pattern);
  if (!regex) {
    const source = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    regex = new RegExp(`^${source}$`, 's');
    if (globCache.size >= GLOB_CACHE_LIMIT) globCache.clear();
    globCache.set(pattern, regex);
  }
  return regex.test(modelId);
}

/**
 * The markup a tenant applies to a model: the matching rule with the highest priority; on a tie
 * the longer (more specific) pattern; with no match, the tenant's default markup.
 */
export function markupFor(rules: readonly PricingRule[], modelId: string, defaultMarkupBps: number): number {
  let best: PricingRule | undefined;
  for (const rule of rules) {
    if (!globMatches(rule.pattern, modelId)) continue;
    if (
      !best ||
      rule.priority > best.priority ||
      (rule.priority === best.priority && rule.pattern.length > best.pattern.length)
    )
      best = rule;
  }
  return best ? best.markupBps : defaultMarkupBps;
}

/** A per-unit price after markups, kept at femto-dollar precision (rounded up) for price lists. */
export function markedUpFemtos(femtos: bigint, markupsBps: readonly number[]): bigint {
  let numerator = femtos;
  let denominator = 1n;
  for (const markup of markupsBps) {
    numerator *= 10_000n + BigInt(markup);
    denominator *= 10_000n;
  }
  return ceilDiv(numerator, denominator);
}
