/**
 * The form of a credit pack or a monthly plan (they have the same fields: a plan is a pack paid
 * every month), read into the API's input or the field that is wrong.
 */

const USD_CENTS = /^\d{1,9}(\.\d{1,2})?$/;
/** The API's limit for the name of a pack or a plan. */
export const MAX_PACK_NAME_LENGTH = 100;

export const PACK_FIELDS = ['name', 'price', 'credit', 'sortOrder', 'active'] as const;
export type PackValues = Record<(typeof PACK_FIELDS)[number], string>;
export type PackParse = { field: string; message: string } | { input: Record<string, unknown> };

export function packInput(values: PackValues, what: 'pack' | 'plan'): PackParse {
  const price = values.price.replace(/^\$/, '');
  const credit = values.credit.replace(/^\$/, '');
  if (!values.name) return { field: 'name', message: `Name the ${what}.` };
  if (values.name.length > MAX_PACK_NAME_LENGTH)
    return { field: 'name', message: `A name has at most ${MAX_PACK_NAME_LENGTH} characters.` };
  if (!USD_CENTS.test(price))
    return {
      field: 'price',
      message: `Enter the price${what === 'plan' ? ' per month' : ''} in dollars and cents, like 45 or 9.99.`,
    };
  if (!USD_CENTS.test(credit))
    return {
      field: 'credit',
      message: `Enter the credit it gives${what === 'plan' ? ' each month' : ''}, in dollars, like 50.`,
    };
  return {
    input: {
      name: values.name,
      price: { usd: price },
      credit: { usd: credit },
      sortOrder: Number(values.sortOrder) || 0,
      active: values.active === 'on',
    },
  };
}

export function usdCents(raw: string): boolean {
  return USD_CENTS.test(raw);
}
