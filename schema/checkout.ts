import Stripe from 'stripe';
import { createCheckout, PurchaseRefused, type Purchase } from '../billing/checkout.ts';
import { stripeClient, type BillingDeps } from '../billing/stripe-client.ts';
import { findPayment } from '../db/queries/payments.ts';
import { createLogger } from '../app/log.ts';
import { builder } from './builder.ts';
import type { GraphqlContext } from './context.ts';
import { ApiError, invalidInput } from './errors.ts';
import { AmountInput, amountNanos } from './money.ts';
import { PaymentRef, visiblePayment, type PaymentWithChanges } from './payment.ts';

/**
 * Buying credit: `startCheckout` creates a Stripe Checkout Session for a pack (or a custom amount)
 * of the viewer's tenant and returns Stripe's URL; the price comes from the catalog, never from the
 * client. Stripe sends the customer back to the portal's /billing/return, where `checkoutPayment`
 * shows the payment being credited by the webhook.
 */

/** Typed errors of this domain, beside the API's common ones. */
const paymentsUnavailable = () =>
  new ApiError('PAYMENTS_UNAVAILABLE', 'Purchases are unavailable: Stripe is not configured on this server.');
const providerFailed = () =>
  new ApiError('PAYMENT_PROVIDER_ERROR', 'Stripe could not be reached; nothing was charged. Try again shortly.');

/** The billing dependencies, or PAYMENTS_UNAVAILABLE when Stripe is not configured. */
export function billingDeps(ctx: GraphqlContext): BillingDeps {
  const settings = ctx.config.stripe;
  if (!settings) throw paymentsUnavailable();
  return { sql: ctx.sql, stripe: stripeClient(settings), log: createLogger(ctx.config.logLevel) };
}

/** Runs a call to Stripe for an account: a refusal becomes INVALID_INPUT, Stripe's own failure PAYMENT_PROVIDER_ERROR. */
export async function withStripe<T>(deps: BillingDeps, accountId: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof PurchaseRefused) throw invalidInput(error.field, error.message);
    if (error instanceof Stripe.errors.StripeError) {
      deps.log.warn('stripe: call failed', { accountId, reason: error.message });
      throw providerFailed();
    }
    throw error;
  }
}

const CheckoutRef = builder.objectRef<{ url: string; payment: PaymentWithChanges }>('Checkout').implement({
  fields: (t) => ({
    url: t.exposeString('url', { description: "Stripe's hosted payment page: send the customer there." }),
    sessionId: t.string({ resolve: (c) => c.payment.checkoutSessionId ?? '' }),
    payment: t.field({ type: PaymentRef, resolve: (c) => c.payment }),
  }),
});

type PurchaseArgs = {
  packId?: string | number | null;
  customAmount?: { nanos?: bigint | null; usd?: string | null } | null;
};

function purchaseOf(args: PurchaseArgs): Purchase {
  const hasPack = args.packId !== null && args.packId !== undefined;
  if (hasPack === Boolean(args.customAmount)) throw invalidInput('packId', 'Give either packId or customAmount.');
  if (args.customAmount) return { customAmountNanos: amountNanos(args.customAmount, 'customAmount') };
  return { packId: String(args.packId) };
}

builder.mutationField('startCheckout', (t) =>
  t.withAuth({ account: true }).field({
    type: CheckoutRef,
    description:
      'Starts buying credit for your account: a pack of your tenant, or a custom amount within its range. saveCard keeps the card for auto top-up.',
    args: {
      packId: t.arg.id({ required: false }),
      customAmount: t.arg({ type: AmountInput, required: false }),
      saveCard: t.arg.boolean({ required: false, defaultValue: false }),
    },
    resolve: async (_root, args, ctx) => {
      const deps = billingDeps(ctx);
      const purchase = purchaseOf(args);
      const checkout = await withStripe(deps, ctx.viewer.account.id, () =>
        createCheckout(deps, {
          account: ctx.viewer.account,
          purchase,
          saveCard: args.saveCard ?? false,
          portalUrl: ctx.config.portalUrl,
        }),
      );
      return { url: checkout.url, payment: { ...checkout.payment, changes: [] } };
    },
  }),
);

builder.queryField('checkoutPayment', (t) =>
  t.withAuth({ signedIn: true }).field({
    type: PaymentRef,
    description: 'The payment of a Checkout Session (the `session_id` Stripe appends to the return URL).',
    args: { sessionId: t.arg.string({ required: true }) },
    resolve: async (_root, { sessionId }, ctx) =>
      visiblePayment(ctx, await findPayment(ctx.sql, { checkoutSessionId: sessionId })),
  }),
);
