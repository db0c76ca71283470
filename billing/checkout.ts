import type { Account } from '../db/queries/accounts.ts';
import { customAmountRange, findCreditPack } from '../db/queries/credit-packs.ts';
import { attachCheckoutSession, createPayment, type Payment } from '../db/queries/payments.ts';
import { findStripeCustomer, saveStripeCustomer } from '../db/queries/stripe-customers.ts';
import { formatUsd } from '../core/money.ts';
import { isWholeCents, nanosToCents } from './amounts.ts';
import type { BillingDeps } from './stripe-client.ts';
import { METADATA } from './stripe-objects.ts';

/**
 * Creates the Stripe Checkout Session for a credit purchase. The price and the credit come from
 * the tenant's catalog (a pack, or a custom amount within the tenant's range, credited one for
 * one), never from the client. The payment row is written first, and its id is the Stripe
 * idempotency key and the metadata every later event is matched by.
 */

export type Purchase = { packId: string } | { customAmountNanos: bigint };

/** A purchase the catalog does not allow; `field` names the input at fault. */
export class PurchaseRefused extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

type Priced = { packId: string | null; description: string; priceNanos: bigint; creditNanos: bigint };

async function price(deps: BillingDeps, tenantId: string, purchase: Purchase): Promise<Priced> {
  if ('packId' in purchase) {
    const pack = await findCreditPack(deps.sql, tenantId, purchase.packId);
    if (!pack?.active) throw new PurchaseRefused('packId', 'This credit pack is not for sale.');
    return { packId: pack.id, description: pack.name, priceNanos: pack.priceNanos, creditNanos: pack.creditNanos };
  }
  const range = await customAmountRange(deps.sql, tenantId);
  if (!range) throw new PurchaseRefused('customAmount', 'Custom amounts are not offered here; choose a credit pack.');
  const amount = purchase.customAmountNanos;
  if (!isWholeCents(amount))
    throw new PurchaseRefused('customAmount', 'A custom amount is whole cents, like "25" or "25.50".');
  if (amount < range.minimumNanos || amount > range.maximumNanos) {
    throw new PurchaseRefused(
      'customAmount',
      `A custom amount is between $${formatUsd(range.minimumNanos)} and $${formatUsd(range.maximumNanos)}.`,
    );
  }
  return { packId: null, description: `$${formatUsd(amount)} of credit`, priceNanos: amount, creditNanos: amount };
}

/** The account's Stripe customer, created once (the idempotency key makes concurrent first purchases agree). */
export async function customerOf(deps: BillingDeps, account: Account): Promise<string> {
  const known = await findStripeCustomer(deps.sql, account.id);
  if (known) return known.customerId;
  const customer = await deps.stripe.customers.create(
    {
      email: account.email,
      ...(account.displayName ? { name: account.displayName } : {}),
      metadata: { [METADATA.accountId]: account.id, [METADATA.tenantId]: account.tenantId },
    },
    { idempotencyKey: `tollgate-customer-${account.id}` },
  );
  await saveStripeCustomer(deps.sql, account.id, customer.id);
  return (await findStripeCustomer(deps.sql, account.id))?.customerId ?? customer.id;
}

type CheckoutRequest = { account: Account; purchase: Purchase; saveCard: boolean; portalUrl: string };
type Checkout = { payment: Payment; url: string };

export async function createCheckout(deps: BillingDeps, request: CheckoutRequest): Promise<Checkout> {
  const { account } = request;
  const priced = await price(deps, account.tenantId, request.purchase);
  const customerId = await customerOf(deps, account);
  const payment = await createPayment(deps.sql, {
    tenantId: account.tenantId,
    accountId: account.id,
    kind: 'checkout',
    ...priced,
    savePaymentMethod: request.saveCard,
  });
  const metadata = {
    [METADATA.paymentId]: payment.id,
    [METADATA.accountId]: account.id,
    [METADATA.tenantId]: account.tenantId,
    [METADATA.packId]: priced.packId ?? '',
  };
  const session = await deps.stripe.checkout.sessions.create(
    {
      mode: 'payment',
      customer: customerId,
      client_reference_id: payment.id,
      line_items: [
        {
          quantity: 1,
          price_data: {
            currency: 'usd',
            unit_amount: Number(nanosToCents(priced.priceNanos)),
            product_data: { name: priced.description, description: `$${formatUsd(priced.creditNanos)} of credit` },
          },
        },
      ],
      metadata,
      payment_intent_data: { metadata, ...(request.saveCard ? { setup_future_usage: 'off_session' as const } : {}) },
      success_url: `${request.portalUrl}/billing/return?session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `${request.portalUrl}/billing/return?status=cancelled`,
    },
    { idempotencyKey: `tollgate-checkout-${payment.id}` },
  );
  if (!session.url) throw new Error('Stripe created a checkout session without a URL');
  await attachCheckoutSession(deps.sql, payment.id, session.id);
  return { payment: { ...payment, checkoutSessionId: session.id }, url: session.url };
}
