import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { formatUsd, parseUsd, usdPerTokenToNanosPerMtok, usdToFemtos } from '../../core/money.ts';
import { chainPricesNanos, globMatches, markupFor, priceNanos } from '../../core/pricing.ts';

/** An independent reference: exact rational arithmetic on decimal strings, rounding up once. */
function referencePrice(costFemtos: bigint, markupsBps: number[]): bigint {
  let value = { n: costFemtos, d: 1_000_000n };
  for (const m of markupsBps) value = { n: value.n * BigInt(10_000 + m), d: value.d * 10_000n };
  const q = value.n / value.d;
  return value.n % value.d === 0n ? q : q + 1n;
}

describe('the price function', () => {
  test('matches the reference on generated costs and markup chains, to the nano-dollar', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 18n }),
        fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 4 }),
        (cost, markups) => {
          expect(priceNanos(cost, markups)).toBe(referencePrice(cost, markups));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  test('is never below cost and never decreases along a chain', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.array(fc.integer({ min: 0, max: 50_000 }), { minLength: 1, maxLength: 4 }),
        (cost, markups) => {
          const prices = chainPricesNanos(cost, markups);
          expect((prices[0] ?? 0n) * 1_000_000n).toBeGreaterThanOrEqual(cost);
          for (let i = 1; i < prices.length; i++) expect(prices[i]).toBeGreaterThanOrEqual(prices[i - 1] ?? 0n);
        },
      ),
    );
  });

  test('rounds up once: 20% on 1 femto-dollar is one nano-dollar, on zero is zero', () => {
    expect(priceNanos(1n, [2000])).toBe(1n);
    expect(priceNanos(0n, [2000])).toBe(0n);
    expect(priceNanos(1_000_000n, [2000])).toBe(2n);
    expect(priceNanos(10_000_000n, [2000])).toBe(12n);
  });
});

describe('money parsing', () => {
  test('USD strings parse exactly and refuse sub-nano precision', () => {
    expect(parseUsd('10.00')).toBe(10_000_000_000n);
    expect(parseUsd('0.000000001')).toBe(1n);
    expect(parseUsd('0.0000000001')).toBeUndefined();
    expect(parseUsd('abc')).toBeUndefined();
    expect(formatUsd(12_345_000_000n)).toBe('12.345');
    expect(formatUsd(-1n)).toBe('-0.000000001');
  });

  test('upstream prices and costs convert without float error', () => {
    expect(usdPerTokenToNanosPerMtok('0.000003')).toBe(3_000_000_000n);
    expect(usdToFemtos(0.000003)).toBe(3_000_000_000n);
    expect(usdToFemtos(1e-7)).toBe(100_000_000n);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), (nanos) => {
        expect(parseUsd(formatUsd(nanos))).toBe(nanos);
      }),
    );
  });
});

describe('pricing rules', () => {
  test('globs match across slashes and the highest priority, then the longest pattern, wins', () => {
    expect(globMatches('openai/gpt-4*', 'openai/gpt-4o-mini')).toBe(true);
    expect(globMatches('openai/gpt-4*', 'openai/gpt-3.5')).toBe(false);
    expect(globMatches('*', 'anything/at:all')).toBe(true);
    const rules = [
      { pattern: '*', markupBps: 1000, priority: 0 },
      { pattern: 'openai/*', markupBps: 1500, priority: 0 },
      { pattern: 'openai/gpt-4*', markupBps: 3000, priority: 5 },
    ];
    expect(markupFor(rules, 'openai/gpt-4o', 2000)).toBe(3000);
    expect(markupFor(rules, 'openai/o1', 2000)).toBe(1500);
    expect(markupFor(rules, 'meta/llama', 2000)).toBe(1000);
    expect(markupFor([], 'meta/llama', 2000)).toBe(2000);
  });
});
