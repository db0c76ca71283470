/**
 * Money arithmetic between Stripe and the ledger. Stripe charges integer cents; the ledger counts
 * nano-dollars. Every reversal rounds down (toward the customer) and is computed from cumulative
 * totals, so a series of partial refunds reverses exactly the whole credit when it adds up to the
 * whole charge, whatever the individual roundings were.
 */

const NANOS_PER_CENT = 10_000_000n;

export function centsToNanos(cents: bigint): bigint {
  return cents * NANOS_PER_CENT;
}

/** Whole cents of a nano-dollar amount; amounts that are not whole cents are a programming error. */
export function nanosToCents(nanos: bigint): bigint {
  if (nanos % NANOS_PER_CENT !== 0n) throw new Error(`${nanos} nano-dollars is not a whole number of cents`);
  return nanos / NANOS_PER_CENT;
}

export function isWholeCents(nanos: bigint): boolean {
  return nanos % NANOS_PER_CENT === 0n;
}

/** Stripe amounts are in the smallest unit of the currency; packs and plans are priced in USD only. */
const CURRENCY = 'usd';

/** The amount paid when it covers the price, else why it does not (and so is not credited). */
export function coverage(
  currency: string | null,
  paidCents: bigint | null,
  priceNanos: bigint,
): { paidCents: bigint } | { shortfall: string } {
  const priceCents = nanosToCents(priceNanos);
  if (currency === CURRENCY && paidCents !== null && paidCents >= priceCents) return { paidCents };
  return {
    shortfall:
      `paid ${paidCents ?? 'nothing'} ${currency ?? ''} for a price of ${priceCents} ${CURRENCY} cents`.replace(
        /\s+/g,
        ' ',
      ),
  };
}

/** A credit in its two books: paid credit up to the price, anything above it a bonus (granted). */
export type CreditSplit = { paidNanos: bigint; grantedNanos: bigint };

export function splitCredit(priceNanos: bigint, creditNanos: bigint): CreditSplit {
  const paidNanos = creditNanos < priceNanos ? creditNanos : priceNanos;
  return { paidNanos, grantedNanos: creditNanos - paidNanos };
}

/** floor(amount × part / whole), for non-negative amounts. */
function share(amountNanos: bigint, partCents: bigint, wholeCents: bigint): bigint {
  if (wholeCents <= 0n) throw new Error('a share of nothing');
  const part = partCents > wholeCents ? wholeCents : partCents < 0n ? 0n : partCents;
  return (amountNanos * part) / wholeCents;
}

/**
 * The part of a credit that `partCents` of a `wholeCents` payment stands for, given that
 * `beforeCents` of it were already accounted for: the difference of two cumulative shares.
 */
export function proRataSplit(
  credit: CreditSplit,
  beforeCents: bigint,
  partCents: bigint,
  wholeCents: bigint,
): CreditSplit {
  const after = beforeCents + partCents;
  return {
    paidNanos: share(credit.paidNanos, after, wholeCents) - share(credit.paidNanos, beforeCents, wholeCents),
    grantedNanos: share(credit.grantedNanos, after, wholeCents) - share(credit.grantedNanos, beforeCents, wholeCents),
  };
}

function atMost(value: bigint, limit: bigint): bigint {
  const bounded = limit < 0n ? 0n : limit;
  return value < bounded ? value : bounded;
}

/** Never take back more of either book than the payment still has on the customer's wallet. */
export function capSplit(wanted: CreditSplit, remaining: CreditSplit): CreditSplit {
  return {
    paidNanos: atMost(wanted.paidNanos, remaining.paidNanos),
    grantedNanos: atMost(wanted.grantedNanos, remaining.grantedNanos),
  };
}
