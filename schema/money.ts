import { formatUsd, NANOS_PER_USD, parseUsd } from '../core/money.ts';
import { builder } from './builder.ts';
import { invalidInput } from './errors.ts';

/** Money in the API: the exact Nanos integer and its exact USD text, never a float. */
export const MoneyRef = builder.objectRef<bigint>('Money').implement({
  description:
    'An exact amount of money. `nanos` is the integer truth; `usd` is the same amount as exact decimal text.',
  fields: (t) => ({
    nanos: t.field({ type: 'Nanos', resolve: (nanos) => nanos }),
    usd: t.string({
      description: 'Exact USD, at least two decimals, e.g. "1.50" or "0.000000375".',
      resolve: (nanos) => formatUsd(nanos),
    }),
  }),
});

/** Inputs accept either exact nanos or a USD decimal string; exactly one must be given. */
export const AmountInput = builder.inputType('AmountInput', {
  description: 'An amount given either as nanos or as a USD decimal string (at most nine decimals). Give exactly one.',
  fields: (t) => ({
    nanos: t.field({ type: 'Nanos', required: false }),
    usd: t.string({ required: false }),
  }),
});

/**
 * The largest amount one input may name, either sign: US$100 million, far above any single payment,
 * adjustment or limit, and small enough that ninety of them still sum inside the ledger's int8 columns.
 */
export const MAX_AMOUNT_NANOS = 100_000_000n * NANOS_PER_USD;
/** A sign, 9 whole digits, a point and 9 decimals: longer text cannot be an amount in range. */
const MAX_USD_TEXT_LENGTH = 20;

export function amountNanos(input: { nanos?: bigint | null; usd?: string | null }, field: string): bigint {
  const { nanos, usd } = input;
  if ((nanos === undefined || nanos === null) === (usd === undefined || usd === null))
    throw invalidInput(field, `Give ${field} as exactly one of nanos or usd.`);
  const parsed = nanos ?? (usd && usd.trim().length <= MAX_USD_TEXT_LENGTH ? parseUsd(usd) : undefined);
  if (parsed === undefined)
    throw invalidInput(field, `${field}.usd must be a decimal like "10" or "0.25" with at most nine decimals.`);
  if (parsed > MAX_AMOUNT_NANOS || parsed < -MAX_AMOUNT_NANOS)
    throw invalidInput(field, `${field} must be at most ${formatUsd(MAX_AMOUNT_NANOS)} USD either way.`);
  return parsed;
}
