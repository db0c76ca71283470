import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { exactUsd, usd } from '../../portal/src/lib/format.ts';

/** The portal's one money formatter: the precision money has, cut and never rounded up. */

const NANOS_PER_USD = 1_000_000_000n;

/** The shown text read back as nano-dollars. */
function shownNanos(text: string): bigint {
  const match = /^(-?)\$([\d,]+)\.(\d+)$/.exec(text);
  if (!match) throw new Error(`not a dollar amount: ${text}`);
  const [, sign, whole = '', fraction = ''] = match;
  const nanos = BigInt(whole.replaceAll(',', '')) * NANOS_PER_USD + BigInt(fraction.padEnd(9, '0').slice(0, 9));
  return sign ? -nanos : nanos;
}

describe('usd', () => {
  test.each([
    [0n, '$0.00'],
    [5_000_000_000n, '$5.00'],
    [4_999_239_000n, '$4.999239'],
    [4_999_999_999n, '$4.999999'],
    [1_234_500_000_000n, '$1,234.50'],
    [500_000_000n, '$0.5000'],
    [4_200_000n, '$0.0042'],
    [761_000n, '$0.000761'],
    [123_456_789n, '$0.123456'],
    [375n, '$0.000000375'],
    [1_234n, '$0.00000123'],
    [1n, '$0.000000001'],
    [-3_000_000_000n, '-$3.00'],
    [-761_000n, '-$0.000761'],
  ])('shows %p nano-dollars as %p', (nanos, text) => {
    expect(usd(nanos)).toBe(text);
  });

  test('a balance of $5 less a fraction of a cent no longer reads $5.00', () => {
    expect(usd(5_000_000_000n - 761_000n)).toBe('$4.999239');
  });

  test('never shows more than the amount, and never loses more than a micro-dollar', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), (nanos) => {
        const shown = shownNanos(usd(nanos));
        const abs = nanos < 0n ? -nanos : nanos;
        const shownAbs = shown < 0n ? -shown : shown;
        expect(shownAbs <= abs).toBe(true);
        expect(abs - shownAbs < 1_000n).toBe(true);
      }),
    );
  });

  test('shows at least four decimals below a dollar', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: NANOS_PER_USD - 1n }), (nanos) => {
        expect(usd(nanos)).toMatch(/^\$0\.\d{4,9}$/);
      }),
    );
  });

  test('reads strings and Money objects like bigints', () => {
    expect(usd('761000')).toBe('$0.000761');
    expect(usd({ nanos: '761000', usd: '0.000761' })).toBe('$0.000761');
  });
});

describe('exactUsd', () => {
  test('writes every nano-dollar, with at least two decimals', () => {
    expect(exactUsd(375n)).toBe('$0.000000375');
    expect(exactUsd(5_000_000_000n)).toBe('$5.00');
    expect(exactUsd(-4_999_239_001n)).toBe('-$4.999239001');
  });
});
