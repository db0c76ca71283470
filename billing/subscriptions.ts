import type { Account } from '../db/queries/accounts.ts';
import {
  attachSubscriptionCheckout,
  createPlanSubscription,
  currentSubscription,
  LIVE_STATUSES,
  setCancelAtPeriodEnd,
  setSubscriptionPlan,
  type PlanSubscription,
} from '../db/queries/plan-subscriptions.ts';
import { findPlan, findPlanPrice, savePlanPrice, type Plan, type PlanPrice } from '../db/queries/plans.ts';
import { formatUsd } from '../core/money.ts';
import { nanosToCents } from './amounts.ts';
import { customerOf, PurchaseRefused } from './checkout.ts';
import type { BillingDeps } from './stripe-client.ts';
import { asJson, METADATA } from './stripe-objects.ts';
import { readSubscription } from './subscription-objects.ts';

/**
 * What a customer does to a monthly plan through the API, on Stripe's side: subscribe through
 * Checkout in subscription mode, cancel at the period's end (or take that back), change plan.
 * Credit is never granted here: only a paid invoice's signed event credits (plan-credit.ts).
 *
 * Plan changes take effect at the next renewal, without proration: the current period keeps the
 * credit it was paid for, and the next invoice charges the new plan's price and credits its
 * credit. Every invoice is then a whole period of exactly one plan version, so its credit is
 * exact and never a fraction.
 */

/** The Stripe Price of this plan version, made once: the idempotency key names the version. */
async function planPrice(deps: BillingDeps, plan: Plan): Promise<PlanPrice> {
  const known = await findPlanPrice(deps.sql, plan);
  if (known) return known;
  const price = await deps.stripe.prices.create(
    {
      currency: 'usd',
      unit_amount: Number(nanosToCents(plan.priceNanos)),
      recurring: { interval: 'month' },
      product_data: { name: plan.name },
      metadata: { [METADATA.planId]: plan.id, tollgate_credit_usd: formatUsd(plan.creditNanos) },
    },
    { idempotencyKey: `tollgate-plan-price-${plan.id}-${plan.priceNanos}-${plan.creditNanos}` },
  );
  const saved: PlanPrice = {
    stripePriceId: price.id,
    planId: plan.id,
    priceNanos: plan.priceNanos,
    creditNanos: plan.creditNanos,
  };
  await savePlanPrice(deps.sql, saved);
  return (await findPlanPrice(deps.sql, plan)) ?? saved;
}

async function planForSale(deps: BillingDeps, tenantId: string, planId: string): Promise<Plan> {
  const plan = await findPlan(deps.sql, tenantId, planId);
  if (!plan?.active) throw new PurchaseRefused('planId', 'This plan is not offered.');
  return plan;
}

async function liveSubscription(deps: BillingDeps, account: Account): Promise<PlanSubscription | undefined> {
  const current = await currentSubscription(deps.sql, account.id);
  return current && LIVE_STATUSES.includes(current.status) ? current : undefined;
}

type SubscribeRequest = { account: Account; planId: string; portalUrl: string };

export async function startSubscription(
  deps: BillingDeps,
  request: SubscribeRequest,
): Promise<{ subscription: PlanSubscription; url: string }> {
  const { account } = request;
  const plan = await planForSale(deps, account.tenantId, request.planId);
  if (await liveSubscription(deps, account))
    throw new PurchaseRefused('planId', 'You already have a plan: change it or cancel it instead.');
  const price = await planPrice(deps, plan);
  const customerId = await customerOf(deps, account);
  const subscription = await createPlanSubscription(deps.sql, {
    tenantId: account.tenantId,
    accountId: account.id,
    planId: plan.id,
    stripePriceId: price.stripePriceId,
  });
  const metadata = {
    [METADATA.subscriptionId]: subscription.id,
    [METADATA.accountId]: account.id,
    [METADATA.tenantId]: account.tenantId,
    [METADATA.planId]: plan.id,
  };
  const session = await deps.stripe.checkout.sessions.create(
    {
      mode: 'subscription',
      customer: customerId,
      client_reference_id: subscription.id,
      line_items: [{ price: price.stripePriceId, quantity: 1 }],
      metadata,
      subscription_data: { metadata },
      success_url: `${request.portalUrl}/billing?plan=started`,
      cancel_url: `${request.portalUrl}/billing?plan=cancelled`,
    },
    { idempotencyKey: `tollgate-plan-checkout-${subscription.id}` },
  );
  if (!session.url) throw new Error('Stripe created a checkout session without a URL');
  await attachSubscriptionCheckout(deps.sql, subscription.id, session.id);
  return { subscription: { ...subscription, checkoutSessionId: session.id }, url: session.url };
}

/** The live subscription, linked to Stripe; anything else is refused with a sentence for the customer. */
async function linkedSubscription(
  deps: BillingDeps,
  account: Account,
): Promise<PlanSubscription & { stripeSubscriptionId: string }> {
  const live = await liveSubscription(deps, account);
  if (!live) throw new PurchaseRefused('subscription', 'You have no plan to change.');
  const { stripeSubscriptionId } = live;
  if (!stripeSubscriptionId)
    throw new PurchaseRefused('subscription', 'Your plan is still being set up; try again in a moment.');
  return { ...live, stripeSubscriptionId };
}

/** Cancels at the end of the paid period (the credit of that period stays), or takes a cancellation back. */
export async function setPlanCancellation(
  deps: BillingDeps,
  account: Account,
  cancel: boolean,
): Promise<PlanSubscription> {
  const live = await linkedSubscription(deps, account);
  await deps.stripe.subscriptions.update(live.stripeSubscriptionId, { cancel_at_period_end: cancel });
  await setCancelAtPeriodEnd(deps.sql, live.id, cancel);
  return { ...live, cancelAtPeriodEnd: cancel };
}

/** Moves the subscription to another plan from its next period (no proration; see above). */
export async function changePlan(deps: BillingDeps, account: Account, planId: string): Promise<PlanSubscription> {
  const live = await linkedSubscription(deps, account);
  const plan = await planForSale(deps, account.tenantId, planId);
  const price = await planPrice(deps, plan);
  if (price.stripePriceId === live.stripePriceId) return live;
  const stripeSubscription = readSubscription(
    asJson(await deps.stripe.subscriptions.retrieve(live.stripeSubscriptionId)),
  );
  if (!stripeSubscription?.itemId) throw new Error(`subscription ${live.stripeSubscriptionId} has no item`);
  await deps.stripe.subscriptions.update(live.stripeSubscriptionId, {
    items: [{ id: stripeSubscription.itemId, price: price.stripePriceId }],
    proration_behavior: 'none',
    metadata: { [METADATA.planId]: plan.id },
  });
  await setSubscriptionPlan(deps.sql, live.id, plan.id, price.stripePriceId);
  return { ...live, planId: plan.id, stripePriceId: price.stripePriceId };
}
