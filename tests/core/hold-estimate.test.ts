import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { basicPrice, type ModelPrice } from '../../core/cost.ts';
import {
  affordableOutputTokens,
  holdCostFemtos,
  holdNanosPerLevel,
  splitOutputBudget,
  WEB_PLUGIN_RESULT_NANOS,
  WEB_RESULT_PROMPT_TOKENS,
  type HoldShape,
} from '../../core/hold-estimate.ts';
import { FEMTOS_PER_NANO } from '../../core/money.ts';
import { ANY_PROVIDER, servingPrice, type ProviderEndpoint } from '../../core/providers.ts';

/** The hold estimate (core/hold-estimate.ts) against bills an upstream may send within its inputs. */

const perMtok = fc.bigInt({ min: 0n, max: 100_000_000_000n });
const perItem = fc.bigInt({ min: 0n, max: 1_000_000_000n });
const price: fc.Arbitrary<ModelPrice> = fc.record({
  promptNanosPerMtok: perMtok,
  completionNanosPerMtok: perMtok,
  requestNanos: perItem,
  imageNanos: perItem,
  webSearchNanos: perItem,
  internalReasoningNanosPerMtok: perMtok,
  inputCacheReadNanosPerMtok: perMtok,
  inputCacheWriteNanosPerMtok: perMtok,
});

/** A share in [0, 1] as a fraction of 1,000, to split a count into parts that sum to at most it. */
const share = fc.integer({ min: 0, max: 1_000 });
const part = (total: number, thousandths: number) => Math.floor((total * thousandths) / 1_000);

describe('the hold', () => {
  test('covers any bill within its inputs: any provider, cache writes, reasoning, web results, media', () => {
    fc.assert(
      fc.property(
        price,
        fc.array(price, { maxLength: 3 }),
        fc.record({
          promptTokens: fc.integer({ min: 0, max: 200_000 }),
          output: fc.integer({ min: 0, max: 100_000 }),
          choices: fc.integer({ min: 1, max: 4 }),
          mediaItems: fc.integer({ min: 0, max: 5 }),
          results: fc.integer({ min: 0, max: 10 }),
          cacheWrites: fc.boolean(),
        }),
        fc.record({ prompt: share, cached: share, written: share, output: share, reasoning: share, results: share }),
        fc.nat(3),
        (listed, providers, request, bill, servedBy) => {
          const endpoints: ProviderEndpoint[] = providers.map((p, i) => ({ provider: `p${i}`, tag: null, price: p }));
          const shape: HoldShape = {
            price: servingPrice(listed, endpoints, ANY_PROVIDER),
            promptTokens: request.promptTokens,
            mediaItems: request.mediaItems,
            choices: request.choices,
            cacheWrites: request.cacheWrites,
            webSearchResults: request.results,
            learnedFactorBps: 10_000,
          };
          const served = endpoints[servedBy]?.price ?? listed;
          // Prompt tokens (web results add theirs) read fresh, from the cache, or written to it.
          const prompt = part(request.promptTokens + request.results * WEB_RESULT_PROMPT_TOKENS, bill.prompt);
          const cached = part(prompt, bill.cached);
          const written = request.cacheWrites ? part(prompt - cached, bill.written) : 0;
          const output = part(request.output * request.choices, bill.output);
          const reasoning = part(output, bill.reasoning);
          const results = part(request.results, bill.results);
          const resultNanos =
            served.webSearchNanos > WEB_PLUGIN_RESULT_NANOS ? served.webSearchNanos : WEB_PLUGIN_RESULT_NANOS;
          const billed =
            BigInt(prompt - cached - written) * served.promptNanosPerMtok +
            BigInt(cached) * served.inputCacheReadNanosPerMtok +
            BigInt(written) * served.inputCacheWriteNanosPerMtok +
            BigInt(output - reasoning) * served.completionNanosPerMtok +
            BigInt(reasoning) * served.internalReasoningNanosPerMtok +
            (served.requestNanos + BigInt(request.mediaItems) * served.imageNanos + BigInt(results) * resultNanos) *
              FEMTOS_PER_NANO;
          expect(holdCostFemtos(shape, request.output)).toBeGreaterThanOrEqual(billed);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  test('grows with the output budget and with the learned factor, which scales it at least proportionally', () => {
    fc.assert(
      fc.property(
        price,
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 10_000, max: 160_000 }),
        (p, a, b, factor) => {
          const shape: HoldShape = {
            price: p,
            promptTokens: 100,
            mediaItems: 0,
            choices: 1,
            cacheWrites: false,
            webSearchResults: 0,
            learnedFactorBps: 10_000,
          };
          const [low, high] = a <= b ? [a, b] : [b, a];
          expect(holdCostFemtos(shape, low)).toBeLessThanOrEqual(holdCostFemtos(shape, high));
          const learned = holdCostFemtos({ ...shape, learnedFactorBps: factor }, high);
          expect(learned * 10_000n).toBeGreaterThanOrEqual(holdCostFemtos(shape, high) * BigInt(factor));
        },
      ),
    );
  });

  test('the affordable output budget is the largest whose hold fits every level', () => {
    const shape: HoldShape = {
      price: { ...basicPrice(1_000_000_000n, 2_000_000_000n, 0n, 0n), internalReasoningNanosPerMtok: 3_000_000_000n },
      promptTokens: 25,
      mediaItems: 0,
      choices: 1,
      cacheWrites: true,
      webSearchResults: 1,
      learnedFactorBps: 15_000,
    };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5_000 }), (budget) => {
        const granted = holdNanosPerLevel(shape, budget, [2000, 1000]);
        const tokens = affordableOutputTokens(shape, [2000, 1000], granted, 10_000);
        expect(tokens).toBeGreaterThanOrEqual(budget);
        const over = holdNanosPerLevel(shape, tokens + 1, [2000, 1000]);
        expect(over.some((need, level) => need > (granted[level] ?? 0n))).toBe(true);
      }),
    );
  });
});

describe('the output budget', () => {
  test('split after a hold never exceeds what was held nor what was asked, and keeps an output token', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 1, max: 200_000 }),
        (output, reasoning, total) => {
          const held = splitOutputBudget(Math.min(total, output + reasoning), { output, reasoning });
          expect(held.output + held.reasoning).toBeLessThanOrEqual(Math.min(total, output + reasoning));
          expect(held.output).toBeLessThanOrEqual(output);
          expect(held.reasoning).toBeLessThanOrEqual(reasoning);
          expect(held.output).toBeGreaterThanOrEqual(1);
        },
      ),
    );
  });
});
