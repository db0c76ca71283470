import { isWholeCents, splitCredit } from '../billing/amounts.ts';
import {
  createCreditPack,
  customAmountRange,
  listCreditPacks,
  setCustomAmountRange,
  updateCreditPack,
  type CreditPack,
  type CustomAmountRange,
  type PackFields,
} from '../db/queries/credit-packs.ts';
import { builder } from './builder.ts';
import { isAdmin, type GraphqlContext } from './context.ts';
import { forbidden, invalidInput, isUniqueViolation, notFound, uuidOr404 } from './errors.ts';
import { AmountInput, amountNanos, MoneyRef } from './money.ts';

/**
 * Credit packs: what a tenant sells. Anyone sees the active packs of the tenant they are on (the
 * signed-in viewer's, or the one the host names); tenant admins manage them and the custom-amount
 * range. Whether Stripe is configured is a field, so a portal can show purchases as unavailable.
 */

const MIN_PRICE_NANOS = 500_000_000n;
const MAX_PRICE_NANOS = 100_000_000_000_000n;
const MAX_CREDIT_NANOS = 1_000_000_000_000_000n;
const MAX_NAME_LENGTH = 100;
const MAX_SORT_ORDER = 1_000_000;

export const CreditPackRef = builder.objectRef<CreditPack>('CreditPack').implement({
  description:
    'Pay `price`, receive `credit`. Credit up to the price is paid credit; anything above it is a bonus (granted credit, used first).',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    price: t.field({ type: MoneyRef, resolve: (p) => p.priceNanos }),
    credit: t.field({ type: MoneyRef, resolve: (p) => p.creditNanos }),
    bonus: t.field({ type: MoneyRef, resolve: (p) => splitCredit(p.priceNanos, p.creditNanos).grantedNanos }),
    active: t.exposeBoolean('active'),
    sortOrder: t.exposeInt('sortOrder'),
  }),
});

const CustomAmountRangeRef = builder.objectRef<CustomAmountRange>('CustomAmountRange').implement({
  description: 'A custom purchase amount, in whole cents, credited one for one.',
  fields: (t) => ({
    minimum: t.field({ type: MoneyRef, resolve: (r) => r.minimumNanos }),
    maximum: t.field({ type: MoneyRef, resolve: (r) => r.maximumNanos }),
  }),
});

const PurchaseOptionsRef = builder.objectRef<{ tenantId: string }>('PurchaseOptions').implement({
  fields: (t) => ({
    stripeAvailable: t.boolean({
      description:
        'False when this server has no Stripe configuration: purchases are unavailable, everything else works.',
      resolve: (_o, _a, ctx) => ctx.config.stripe !== undefined,
    }),
    publishableKey: t.string({ nullable: true, resolve: (_o, _a, ctx) => ctx.config.stripe?.publishableKey ?? null }),
    packs: t.field({ type: [CreditPackRef], resolve: (o, _a, ctx) => listCreditPacks(ctx.sql, o.tenantId, false) }),
    customAmount: t.field({
      type: CustomAmountRangeRef,
      nullable: true,
      resolve: async (o, _a, ctx) => (await customAmountRange(ctx.sql, o.tenantId)) ?? null,
    }),
  }),
});

builder.queryField('purchaseOptions', (t) =>
  t.field({
    type: PurchaseOptionsRef,
    description: 'What can be bought here, and whether purchases are available at all.',
    resolve: (_root, _args, ctx) => ({ tenantId: ctx.tenant.id }),
  }),
);

builder.queryField('creditPacks', (t) =>
  t.field({
    type: [CreditPackRef],
    description: "The tenant's packs in display order; inactive ones too for an admin who asks.",
    args: { includeInactive: t.arg.boolean({ required: false, defaultValue: false }) },
    resolve: (_root, args, ctx: GraphqlContext) => {
      if (args.includeInactive && !isAdmin(ctx.viewer)) throw forbidden('Only admins see inactive packs.');
      return listCreditPacks(ctx.sql, ctx.tenant.id, args.includeInactive ?? false);
    },
  }),
);

const CreditPackInput = builder.inputType('CreditPackInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    price: t.field({
      type: AmountInput,
      required: true,
      description: 'What the customer pays: whole cents, from $0.50 to $100,000.',
    }),
    credit: t.field({ type: AmountInput, required: true, description: 'What the customer receives.' }),
    active: t.boolean({ required: false, defaultValue: true }),
    sortOrder: t.int({ required: false, defaultValue: 0 }),
  }),
});

type PackInput = {
  name: string;
  price: { nanos?: bigint | null; usd?: string | null };
  credit: { nanos?: bigint | null; usd?: string | null };
  active?: boolean | null;
  sortOrder?: number | null;
};

/** Validated fields of a pack; plans are priced the same way and use it too. */
export function packFields(input: PackInput): PackFields {
  const name = input.name.trim();
  if (name.length < 1 || name.length > MAX_NAME_LENGTH)
    throw invalidInput('name', `A name has 1 to ${MAX_NAME_LENGTH} characters.`);
  const priceNanos = amountNanos(input.price, 'price');
  if (!isWholeCents(priceNanos) || priceNanos < MIN_PRICE_NANOS || priceNanos > MAX_PRICE_NANOS)
    throw invalidInput('price', 'A price is whole cents from $0.50 to $100,000.');
  const creditNanos = amountNanos(input.credit, 'credit');
  if (creditNanos <= 0n || creditNanos > MAX_CREDIT_NANOS)
    throw invalidInput('credit', 'Credit is more than zero and at most $1,000,000.');
  const sortOrder = input.sortOrder ?? 0;
  if (Math.abs(sortOrder) > MAX_SORT_ORDER)
    throw invalidInput('sortOrder', `The sort order is between -${MAX_SORT_ORDER} and ${MAX_SORT_ORDER}.`);
  return { name, priceNanos, creditNanos, active: input.active ?? true, sortOrder };
}

async function uniqueName<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error, 'credit_packs_tenant_id_name_key'))
      throw invalidInput('name', 'The tenant already has a pack with this name.');
    throw error;
  }
}

builder.mutationField('createCreditPack', (t) =>
  t.withAuth({ admin: true }).field({
    type: CreditPackRef,
    args: { input: t.arg({ type: CreditPackInput, required: true }) },
    resolve: (_root, { input }, ctx) => uniqueName(() => createCreditPack(ctx.sql, ctx.tenant.id, packFields(input))),
  }),
);

builder.mutationField('updateCreditPack', (t) =>
  t.withAuth({ admin: true }).field({
    type: CreditPackRef,
    description:
      'Changes a pack (deactivate it to stop selling it). Past payments keep the price and credit they were made at.',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: CreditPackInput, required: true }) },
    resolve: async (_root, { id, input }, ctx) => {
      const pack = await uniqueName(() =>
        updateCreditPack(ctx.sql, ctx.tenant.id, uuidOr404(String(id), 'Credit pack'), packFields(input)),
      );
      if (!pack) throw notFound('Credit pack');
      return pack;
    },
  }),
);

builder.mutationField('setCustomAmountRange', (t) =>
  t.withAuth({ admin: true }).field({
    type: CustomAmountRangeRef,
    nullable: true,
    description:
      'Lets customers buy any amount in this range (whole cents, credited one for one); with no arguments, turns custom amounts off.',
    args: {
      minimum: t.arg({ type: AmountInput, required: false }),
      maximum: t.arg({ type: AmountInput, required: false }),
    },
    resolve: async (_root, { minimum, maximum }, ctx) => {
      if (!minimum && !maximum) {
        await setCustomAmountRange(ctx.sql, ctx.tenant.id, null);
        return null;
      }
      if (!minimum || !maximum)
        throw invalidInput(minimum ? 'maximum' : 'minimum', 'Give both a minimum and a maximum, or neither.');
      const range = { minimumNanos: amountNanos(minimum, 'minimum'), maximumNanos: amountNanos(maximum, 'maximum') };
      for (const [field, value] of [
        ['minimum', range.minimumNanos],
        ['maximum', range.maximumNanos],
      ] as const) {
        if (!isWholeCents(value) || value < MIN_PRICE_NANOS || value > MAX_PRICE_NANOS)
          throw invalidInput(field, 'An amount is whole cents from $0.50 to $100,000.');
      }
      if (range.maximumNanos < range.minimumNanos) throw invalidInput('maximum', 'The maximum is below the minimum.');
      await setCustomAmountRange(ctx.sql, ctx.tenant.id, range);
      return range;
    },
  }),
);
