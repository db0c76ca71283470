/**
 * Money units. Balances and charges are bigint nano-dollars (1 USD = 10^9). Costs before the one
 * rounding step are kept in femto-dollars (1 USD = 10^15) so that sub-nano per-token prices and
 * upstream-reported costs stay exact until the price function rounds them up.
 */

export const NANOS_PER_USD = 1_000_000_000n;
export const FEMTOS_PER_NANO = 1_000_000n;
/** Catalog prices are nano-dollars per million tokens, so tokens × price is already in femto-dollars. */
export const TOKENS_PER_MTOK = 1_000_000n;

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i;

/**
 * Parses a decimal string (or the exact shortest text of a JSON number) into an integer count of
 * 10^-scale units. Digits beyond the scale round away from zero when `roundUp`, else are refused.
 */
export function parseDecimal(text: string, scale: number, roundUp: boolean): bigint | undefined {
  const match = DECIMAL.exec(text.trim());
  if (!match) return undefined;
  const [, sign, whole = '0', fraction = '', exponentText] = match;
  const exponent = Number(exponentText ?? '0') + scale;
  const digits = BigInt(whole + fraction);
  const shift = exponent - fraction.length;
  let value: bigint;
  if (shift >= 0) value = digits * 10n ** BigInt(shift);
  else {
    const divisor = 10n ** BigInt(-shift);
    value = digits / divisor;
    if (digits % divisor !== 0n) {
      if (!roundUp) return undefined;
      value += 1n;
    }
  }
  return sign ? -value : value;
}

/** "10", "10.5", "0.000000001" → nano-dollars; more than nine decimals is an error, not a rounding. */
export function parseUsd(text: string): bigint | undefined {
  if (!/^-?\d+(\.\d+)?$/.test(text.trim())) return undefined;
  return parseDecimal(text, 9, false);
}

/** An upstream's per-token USD price ("0.0000000375") → nano-dollars per million tokens, rounded up. */
export function usdPerTokenToNanosPerMtok(text: string): bigint | undefined {
  const value = parseDecimal(text, 15, true);
  return value === undefined || value < 0n ? undefined : value;
}

/** An upstream-reported USD cost (a JSON number) → femto-dollars, rounded up. */
export function usdToFemtos(amount: number): bigint | undefined {
  if (!Number.isFinite(amount) || amount < 0) return undefined;
  return parseDecimal(String(amount), 15, true);
}

/** Nano-dollars → "12.345000000"-style exact text, trimmed to at least two decimals. */
export function formatUsd(nanos: bigint): string {
  const negative = nanos < 0n;
  const absolute = negative ? -nanos : nanos;
  const whole = absolute / NANOS_PER_USD;
  const fraction = (absolute % NANOS_PER_USD)
    .toString()
    .padStart(9, '0')
    .replace(/0{1,7}$/, '');
  return `${negative ? '-' : ''}${whole}.${fraction.padEnd(2, '0')}`;
}

/** For JSON answers that follow OpenAI/OpenRouter, which express USD as numbers. */
export function nanosToUsdNumber(nanos: bigint): number {
  return Number(formatUsd(nanos));
}

/** Femto-dollars → exact USD text with up to fifteen decimals: per-token prices in model lists. */
export function formatFemtosUsd(femtos: bigint): string {
  const whole = femtos / 1_000_000_000_000_000n;
  const fraction = (femtos % 1_000_000_000_000_000n).toString().padStart(15, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : `${whole}`;
}
