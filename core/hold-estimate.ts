import type { ModelPrice } from './cost.ts';
import { FEMTOS_PER_NANO } from './money.ts';
import { ceilDiv, priceNanos } from './pricing.ts';

/**
 * The hold estimate: the most a request can cost at catalog prices, so that a hold placed from it
 * covers whatever the upstream bills within them (DESIGN.md, "A hold must be a true bound"). It
 * takes plain inputs, so any wire protocol can feed it: the prompt's token bound, the output budget
 * per choice (the output limit plus a reasoning budget outside it), and the request's flags.
 *
 *   cost = prompt tokens × the dearest of the prompt, cache-read and (with cache breakpoints)
 *            cache-write prices
 *        + output tokens × choices × the dearer of the completion and reasoning prices
 *        + the per-request price + media items × the per-image price
 *        + web search results × the dearer of the listed and the web plugin's per-result price
 *   hold = cost × the learned factor (upstream/learned-bounds.ts), rounded up to a femto-dollar,
 *          then marked up at every tenant level by the one price function (core/pricing.ts).
 *
 * Web search results also add up to WEB_RESULT_PROMPT_TOKENS each to the prompt they are injected
 * into. `price` is already the dearest price the request may be served at: component by component
 * over its candidate models and the providers its preferences allow (core/providers.ts).
 */

/** The learned factor of a model nobody has seen overshoot: 1× in basis points. */
export const NO_LEARNED_FACTOR_BPS = 10_000;
/** OpenRouter's web plugin bills $4 per 1,000 results, whatever the model's own web_search price. */
export const WEB_PLUGIN_RESULT_NANOS = 4_000_000n;
/**
 * Prompt tokens one web search result may add to the prompt. Not a published bound: a generous
 * one (search snippets are a few hundred tokens), and learned bounds cover a provider that adds more.
 */
export const WEB_RESULT_PROMPT_TOKENS = 2_048;

export type HoldShape = {
  price: ModelPrice;
  /** A true upper bound on the prompt's tokens (core/prompt-bound.ts). */
  promptTokens: number;
  /** Images, audio and files in the prompt, priced per item. */
  mediaItems: number;
  choices: number;
  /** The request marks cache breakpoints: any prompt token may be written to the cache at its price. */
  cacheWrites: boolean;
  /** Web search results the request may be billed for (web plugin, `:online`); 0 without search. */
  webSearchResults: number;
  /** How far this model's reported costs have exceeded their catalog bound, in basis points (≥ 10 000). */
  learnedFactorBps: number;
};

const maxOf = (...values: bigint[]): bigint => values.reduce((m, v) => (v > m ? v : m), 0n);

/** The catalog bound of a usage of this shape, before the learned factor, in femto-dollars. */
function catalogBoundFemtos(shape: HoldShape, promptTokens: number, outputTokensTotal: bigint): bigint {
  const p = shape.price;
  const promptPerMtok = maxOf(
    p.promptNanosPerMtok,
    p.inputCacheReadNanosPerMtok,
    shape.cacheWrites ? p.inputCacheWriteNanosPerMtok : 0n,
  );
  const outputPerMtok = maxOf(p.completionNanosPerMtok, p.internalReasoningNanosPerMtok);
  const perResult = shape.webSearchResults > 0 ? maxOf(p.webSearchNanos, WEB_PLUGIN_RESULT_NANOS) : 0n;
  const perRequestNanos =
    p.requestNanos + BigInt(shape.mediaItems) * p.imageNanos + BigInt(shape.webSearchResults) * perResult;
  return BigInt(promptTokens) * promptPerMtok + outputTokensTotal * outputPerMtok + perRequestNanos * FEMTOS_PER_NANO;
}

/** The most the request can cost the operator with `outputTokens` per choice, in femto-dollars. */
export function holdCostFemtos(shape: HoldShape, outputTokens: number): bigint {
  const promptTokens = shape.promptTokens + shape.webSearchResults * WEB_RESULT_PROMPT_TOKENS;
  const catalog = catalogBoundFemtos(shape, promptTokens, BigInt(outputTokens) * BigInt(shape.choices));
  return ceilDiv(catalog * BigInt(Math.max(shape.learnedFactorBps, NO_LEARNED_FACTOR_BPS)), 10_000n);
}

/**
 * The catalog bound of a reported usage (its own token counts at the shape's dearest prices, every
 * per-request component included, no learned factor): what a report is measured against, to learn
 * from overshoots and to refuse reports no request of this shape could produce.
 */
export function usageBoundFemtos(shape: HoldShape, promptTokens: number, completionTokens: number): bigint {
  return catalogBoundFemtos(shape, promptTokens, BigInt(completionTokens));
}

/** What the request's hold is at each level of the tenant chain (root first) with `outputTokens` per choice. */
export function holdNanosPerLevel(shape: HoldShape, outputTokens: number, markupsBps: readonly number[]): bigint[] {
  const cost = holdCostFemtos(shape, outputTokens);
  return markupsBps.map((_, level) => priceNanos(cost, markupsBps.slice(0, level + 1)));
}

/**
 * The largest output budget per choice (≤ ceiling) whose hold fits within what each level was
 * granted. The hold grows with the budget, so a binary search finds it exactly.
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

/** The output limits a request is held for: its output limit and a reasoning budget outside it. */
export type OutputBudget = { output: number; reasoning: number };

/**
 * Splits an output budget per choice that the hold covers (`total`, at most output + reasoning)
 * between the output limit and the reasoning budget, in proportion, keeping at least one output
 * token: what the upstream is sent, so it never produces more than was held for.
 */
export function splitOutputBudget(total: number, requested: OutputBudget): OutputBudget {
  if (total >= requested.output + requested.reasoning) return requested;
  const reasoning = Math.min(
    Math.floor((total * requested.reasoning) / (requested.output + requested.reasoning)),
    Math.max(total - 1, 0),
  );
  return { output: total - reasoning, reasoning };
}
