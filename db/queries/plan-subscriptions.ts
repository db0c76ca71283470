import { isUuid, type Db, type TransactionSql } from '../sql.ts';

/**
 * Subscriptions to monthly plans and the invoices Stripe bills for them. A row is written before
 * Stripe is called (its id goes into the subscription's metadata); Stripe's events then link it
 * to the Stripe subscription and keep its status. Invoices are recorded with what they did to the
 * ledger, so a replayed event finds its invoice and changes nothing.
 */

export type SubscriptionStatus = 'open' | 'expired' | 'incomplete' | 'active' | 'past_due' | 'canceled';

export type PlanSubscription = {
  id: string;
  tenantId: string;
  accountId: string;
  planId: string;
  status: SubscriptionStatus;
  checkoutSessionId: string | null;
  stripeSubscriptionId: string | null;
  stripePriceId: string | null;
  cancelAtPeriodEnd: boolean;
  currentPeriodEnd: Date | null;
  endedAt: Date | null;
  createdAt: Date;
};

type SubscriptionRow = {
  id: string;
  tenant_id: string;
  account_id: string;
  plan_id: string;
  status: SubscriptionStatus;
  checkout_session_id: string | null;
  stripe_subscription_id: string | null;
  stripe_price_id: string | null;
  cancel_at_period_end: boolean;
  current_period_end: Date | null;
  ended_at: Date | null;
  created_at: Date;
};

function subscriptionFromRow(row: SubscriptionRow): PlanSubscription {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    accountId: row.account_id,
    planId: row.plan_id,
    status: row.status,
    checkoutSessionId: row.checkout_session_id,
    stripeSubscriptionId: row.stripe_subscription_id,
    stripePriceId: row.stripe_price_id,
    cancelAtPeriodEnd: row.cancel_at_period_end,
    currentPeriodEnd: row.current_period_end,
    endedAt: row.ended_at,
    createdAt: row.created_at,
  };
}

/** Statuses of a subscription that bills (or tries to): at most one per account. */
export const LIVE_STATUSES: readonly SubscriptionStatus[] = ['incomplete', 'active', 'past_due'];

type NewSubscription = { tenantId: string; accountId: string; planId: string; stripePriceId: string };

export async function createPlanSubscription(db: Db, input: NewSubscription): Promise<PlanSubscription> {
  const [row] = await db<SubscriptionRow[]>`
    insert into plan_subscriptions (tenant_id, account_id, plan_id, stripe_price_id)
    values (${input.tenantId}::uuid, ${input.accountId}::uuid, ${input.planId}::uuid, ${input.stripePriceId})
    returning *`;
  if (!row) throw new Error('subscription insert returned nothing');
  return subscriptionFromRow(row);
}

export async function attachSubscriptionCheckout(db: Db, subscriptionId: string, sessionId: string): Promise<void> {
  await db`update plan_subscriptions set checkout_session_id = ${sessionId}, updated_at = now() where id = ${subscriptionId}::uuid and checkout_session_id is null`;
}

/** The account's subscription to show: its live one, else its most recent one that ever started. */
export async function currentSubscription(db: Db, accountId: string): Promise<PlanSubscription | undefined> {
  const [row] = await db<SubscriptionRow[]>`
    select * from plan_subscriptions where account_id = ${accountId}::uuid and status not in ('open', 'expired')
    order by (status = any(${[...LIVE_STATUSES]}::text[])) desc, created_at desc limit 1`;
  return row ? subscriptionFromRow(row) : undefined;
}

type Key = { id: string } | { stripeSubscriptionId: string } | { checkoutSessionId: string };

/** The subscription, row-locked until the transaction ends: its invoices and status changes are serialized. */
export async function lockSubscription(tx: TransactionSql, key: Key): Promise<PlanSubscription | undefined> {
  if ('id' in key && !isUuid(key.id)) return undefined;
  const condition =
    'id' in key
      ? tx`id = ${key.id}::uuid`
      : 'stripeSubscriptionId' in key
        ? tx`stripe_subscription_id = ${key.stripeSubscriptionId}`
        : tx`checkout_session_id = ${key.checkoutSessionId}`;
  const [row] = await tx<SubscriptionRow[]>`select * from plan_subscriptions where ${condition} for update`;
  return row ? subscriptionFromRow(row) : undefined;
}

export async function linkStripeSubscription(
  tx: TransactionSql,
  subscriptionId: string,
  stripeSubscriptionId: string,
): Promise<void> {
  await tx`
    update plan_subscriptions set stripe_subscription_id = ${stripeSubscriptionId}, status = case when status = 'open' then 'incomplete' else status end, updated_at = now()
    where id = ${subscriptionId}::uuid and stripe_subscription_id is null`;
}

export type StripeState = {
  status: Exclude<SubscriptionStatus, 'open' | 'expired'>;
  cancelAtPeriodEnd: boolean;
  currentPeriodEnd: Date | null;
  endedAt: Date | null;
};

/** Mirrors what Stripe says now about the subscription; a subscription that ended stays ended. */
export async function syncSubscription(tx: TransactionSql, subscriptionId: string, state: StripeState): Promise<void> {
  await tx`
    update plan_subscriptions set status = ${state.status}, cancel_at_period_end = ${state.cancelAtPeriodEnd},
      current_period_end = coalesce(${state.currentPeriodEnd}, current_period_end), ended_at = coalesce(ended_at, ${state.endedAt}), updated_at = now()
    where id = ${subscriptionId}::uuid and status <> 'canceled'`;
}

export async function setCancelAtPeriodEnd(db: Db, subscriptionId: string, cancel: boolean): Promise<void> {
  await db`update plan_subscriptions set cancel_at_period_end = ${cancel}, updated_at = now() where id = ${subscriptionId}::uuid`;
}

/** After Stripe accepted a plan change: the subscription bills the new plan version from its next period. */
export async function setSubscriptionPlan(
  db: Db,
  subscriptionId: string,
  planId: string,
  stripePriceId: string,
): Promise<void> {
  await db`update plan_subscriptions set plan_id = ${planId}::uuid, stripe_price_id = ${stripePriceId}, updated_at = now() where id = ${subscriptionId}::uuid`;
}

/** A checkout that was abandoned: the row is kept, as expired. */
export async function expireSubscriptionCheckout(tx: TransactionSql, subscriptionId: string): Promise<boolean> {
  const updated =
    await tx`update plan_subscriptions set status = 'expired', updated_at = now() where id = ${subscriptionId}::uuid and status = 'open'`;
  return updated.count > 0;
}
