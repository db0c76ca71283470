import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { capSplit, centsToNanos, nanosToCents, proRataSplit, splitCredit } from '../../billing/amounts.ts';

/** The money arithmetic between Stripe's cents and the ledger's nano-dollars. */

describe('splitCredit', () => {
  test('credit up to the price is paid, the rest is a granted bonus', () => {
    expect(splitCredit(45_000_000_000n, 50_000_000_000n)).toEqual({
      paidNanos: 45_000_000_000n,
      grantedNanos: 5_000_000_000n,
    });
    expect(splitCredit(10_000_000_000n, 10_000_000_000n)).toEqual({ paidNanos: 10_000_000_000n, grantedNanos: 0n });
    expect(splitCredit(10_000_000_000n, 9_000_000_000n)).toEqual({ paidNanos: 9_000_000_000n, grantedNanos: 0n });
  });
});

describe('proRataSplit', () => {
  test('rounds each share down, toward the customer', () => {
    const credit = splitCredit(45_000_000_000n, 50_000_000_000n);
    expect(proRataSplit(credit, 0n, 1000n, 4500n)).toEqual({
      paidNanos: 10_000_000_000n,
      grantedNanos: 1_111_111_111n,
    });
  });

  test('refunds that add up to the whole charge reverse exactly the whole credit, in any split', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 50, max: 10_000_000 }),
        fc.integer({ min: 1, max: 5_000_000_000 }),
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 12 }),
        (priceCents, bonusNanos, weights) => {
          const whole = BigInt(priceCents);
          const credit = splitCredit(centsToNanos(whole), centsToNanos(whole) + BigInt(bonusNanos));
          const total = weights.reduce((a, b) => a + b, 0);
          const parts = weights.map((w) => (whole * BigInt(w)) / BigInt(total));
          parts[parts.length - 1] = (parts.at(-1) ?? 0n) + whole - parts.reduce((a, b) => a + b, 0n);
          let before = 0n;
          let paid = 0n;
          let granted = 0n;
          for (const part of parts) {
            const share = proRataSplit(credit, before, part, whole);
            expect(share.paidNanos).toBeGreaterThanOrEqual(0n);
            paid += share.paidNanos;
            granted += share.grantedNanos;
            before += part;
          }
          expect({ paid, granted }).toEqual({ paid: credit.paidNanos, granted: credit.grantedNanos });
        },
      ),
    );
  });

  test('never takes more than the whole, even for a refund beyond it', () => {
    const credit = { paidNanos: 100n, grantedNanos: 10n };
    expect(proRataSplit(credit, 50n, 80n, 100n)).toEqual({ paidNanos: 50n, grantedNanos: 5n });
  });
});

test('capSplit never takes more than what is left, nor anything from a book that is empty or negative', () => {
  expect(capSplit({ paidNanos: 30n, grantedNanos: 5n }, { paidNanos: 20n, grantedNanos: -3n })).toEqual({
    paidNanos: 20n,
    grantedNanos: 0n,
  });
});

test('cents and nanos convert exactly, and a fraction of a cent is refused', () => {
  expect(centsToNanos(4500n)).toBe(45_000_000_000n);
  expect(nanosToCents(45_000_000_000n)).toBe(4500n);
  expect(() => nanosToCents(45_000_000_001n)).toThrow('not a whole number of cents');
});
