import type { OutputBudget, HoldShape } from '../core/hold-estimate.ts';
import type { BilledRequest } from '../core/billed-request.ts';
import type { PromptBound } from '../core/prompt-bound.ts';
import { servingPrice } from '../core/providers.ts';
import { ceilingPrice } from '../core/cost.ts';
import type { CatalogModel } from '../upstream/catalog.ts';

/**
 * The plain inputs of the hold estimate (core/hold-estimate.ts) for one billed request, whatever
 * its protocol (the prompt bound comes from the protocol, protocols/protocol.ts): the dearest price it may be served at (over its candidate
 * models and the providers its `provider` preferences allow), its flags, and the output budget per
 * choice it asks for (its output limit, else the catalog's, plus a reasoning budget outside it).
 */

/** A request that cannot afford this many output tokens is refused rather than shrunk. */
export const MINIMUM_OUTPUT_TOKENS = 1;
/** The output budget when neither the request nor the catalog names one. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4_096;

function outputLimit(billed: BilledRequest, models: readonly CatalogModel[], promptTokens: number): number {
  if (billed.protocol === 'embeddings') return 0;
  if (billed.requestedMaxTokens !== null) return billed.requestedMaxTokens;
  const limits = models.map(
    (m) =>
      m.maxCompletionTokens ??
      (m.contextLength ? Math.max(m.contextLength - promptTokens, MINIMUM_OUTPUT_TOKENS) : DEFAULT_MAX_OUTPUT_TOKENS),
  );
  return Math.max(...limits);
}

export type HoldSizing = { shape: HoldShape; budget: OutputBudget };

export function sizeHold(
  billed: BilledRequest,
  models: readonly CatalogModel[],
  bound: PromptBound,
  learnedFactorBps: number,
): HoldSizing {
  const flags = billed.hold;
  const price = ceilingPrice(models.map((m) => servingPrice(m.price, m.endpoints, flags.providers)));
  const embeddings = billed.protocol === 'embeddings';
  return {
    shape: {
      price,
      promptTokens: bound.tokens,
      mediaItems: bound.mediaItems,
      choices: billed.choices,
      cacheWrites: flags.cacheBreakpoints,
      webSearchResults: embeddings ? 0 : flags.webSearchResults,
      learnedFactorBps,
    },
    budget: {
      output: outputLimit(billed, models, bound.tokens),
      reasoning: embeddings ? 0 : (flags.reasoningMaxTokens ?? 0),
    },
  };
}
