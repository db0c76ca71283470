import { expireSubscriptionCheckout, syncSubscription, type StripeState } from '../db/queries/plan-subscriptions.ts';
import type { TransactionSql } from '../db/sql.ts';
import { nothing, type Applied } from './credit.ts';
import { applyFailedInvoice, applyPaidInvoice, lockEventSubscription } from './plan-credit.ts';
import type { BillingDeps } from './stripe-client.ts';
import { asJson, type StripeEventView } from './stripe-objects.ts';
import {
  readInvoice,
  readSubscription,
  readSubscriptionSession,
  type SubscriptionView,
} from './subscription-objects.ts';

/**
 * The Stripe events of monthly plans. Like every handler in events.ts, each reads what it needs
 * from Stripe first and returns the effect that runs in the event's recording transaction. The
 * subscription is re-read from Stripe rather than trusted from the payload, so deliveries in any
 * order converge on Stripe's current state (a late `updated` cannot undo a `deleted`).
 */

type Effect = (tx: TransactionSql) => Promise<Applied>;
type Handler = (deps: BillingDeps, event: StripeEventView) => Promise<Effect>;

const ignore =
  (outcome: string): Effect =>
  async () =>
    nothing(outcome);

async function currentStripeSubscription(deps: BillingDeps, id: string | null): Promise<SubscriptionView | null> {
  if (!id) return null;
  return readSubscription(asJson(await deps.stripe.subscriptions.retrieve(id))) ?? null;
}

function stateOf(subscription: SubscriptionView): StripeState {
  const status = subscription.status;
  const mapped: StripeState['status'] =
    status === 'active' || status === 'trialing'
      ? 'active'
      : status === 'past_due' || status === 'unpaid' || status === 'paused'
        ? 'past_due'
        : status === 'canceled' || status === 'incomplete_expired'
          ? 'canceled'
          : 'incomplete';
  return {
    status: mapped,
    cancelAtPeriodEnd: subscription.cancelAtPeriodEnd,
    currentPeriodEnd: subscription.currentPeriodEnd,
    endedAt: subscription.endedAt,
  };
}

/** Brings the subscription's row to Stripe's state; links it first when this is the first event that names it. */
function syncEffect(subscription: SubscriptionView, outcome: string): Effect {
  return async (tx) => {
    const row = await lockEventSubscription(tx, subscription.id, subscription.rowId);
    if (!row) return nothing('not a Tollgate subscription: ignored');
    await syncSubscription(tx, row.id, stateOf(subscription));
    return { ...nothing(outcome), accountId: row.accountId };
  };
}

/** `checkout.session.completed` in subscription mode: the subscription exists; its invoice credits. */
export const subscriptionSessionCompleted: Handler = async (deps, event) => {
  const session = readSubscriptionSession(event.object);
  if (!session?.rowId) return ignore('not a Tollgate subscription: ignored');
  const subscription = await currentStripeSubscription(deps, session.stripeSubscriptionId);
  if (!subscription) return ignore('checkout without a subscription: ignored');
  return syncEffect({ ...subscription, rowId: subscription.rowId ?? session.rowId }, 'subscription started');
};

export const subscriptionSessionExpired: Handler = async (_deps, event) => {
  const session = readSubscriptionSession(event.object);
  const rowId = session?.rowId;
  if (!rowId) return ignore('not a Tollgate subscription: ignored');
  return async (tx) =>
    nothing(
      (await expireSubscriptionCheckout(tx, rowId))
        ? 'plan checkout expired'
        : 'plan checkout already settled: unchanged',
    );
};

const subscriptionChanged: Handler = async (deps, event) => {
  const payload = readSubscription(event.object);
  if (!payload) return ignore('no subscription: ignored');
  const current = await currentStripeSubscription(deps, payload.id);
  if (!current) return ignore('no subscription: ignored');
  return syncEffect(
    { ...current, rowId: current.rowId ?? payload.rowId },
    current.status === 'canceled' ? 'subscription ended' : 'subscription updated',
  );
};

const invoicePaid: Handler = async (deps, event) => {
  const invoice = readInvoice(event.object);
  if (!invoice?.stripeSubscriptionId) return ignore('not a subscription invoice: ignored');
  // Read now: its metadata links an invoice that arrives before the checkout's event, and its end date decides late payments.
  const subscription = await currentStripeSubscription(deps, invoice.stripeSubscriptionId);
  return (tx) => applyPaidInvoice(tx, invoice, subscription);
};

const invoiceFailed: Handler = async (deps, event) => {
  const invoice = readInvoice(event.object);
  if (!invoice?.stripeSubscriptionId) return ignore('not a subscription invoice: ignored');
  const rowId = invoice.rowId ?? (await currentStripeSubscription(deps, invoice.stripeSubscriptionId))?.rowId ?? null;
  return (tx) => applyFailedInvoice(tx, invoice, rowId);
};

/** The plan event types, beside the Checkout events that events.ts passes on by session mode. */
export const SUBSCRIPTION_HANDLERS: readonly (readonly [string, Handler])[] = [
  ['invoice.paid', invoicePaid],
  ['invoice.payment_failed', invoiceFailed],
  ['customer.subscription.updated', subscriptionChanged],
  ['customer.subscription.deleted', subscriptionChanged],
];
