import { idOf, integer, isJson, METADATA, text, type Json } from './stripe-objects.ts';

/**
 * Defensive readers for the Stripe objects of plans: Checkout Sessions in subscription mode,
 * subscriptions and invoices. Stripe moved several fields between API versions (an invoice's
 * subscription and an item's price now sit under `parent` and `pricing`; the billing period moved
 * from the subscription to its items), so each is read from where either version puts it.
 */

function child(object: Json, ...path: string[]): Json | null {
  let current: unknown = object;
  for (const key of path) current = isJson(current) ? current[key] : undefined;
  return isJson(current) ? current : null;
}

function firstItems(object: Json, key: string): Json[] {
  const list = child(object, key);
  const data = list?.data;
  return Array.isArray(data) ? data.filter(isJson) : [];
}

function rowIdOf(metadata: Json | null): string | null {
  return metadata ? text(metadata, METADATA.subscriptionId) : null;
}

function seconds(object: Json | null, key: string): Date | null {
  const value = object ? integer(object, key) : null;
  return value === null ? null : new Date(Number(value) * 1000);
}

export type SubscriptionSessionView = { id: string; stripeSubscriptionId: string | null; rowId: string | null };

/** A Checkout Session in subscription mode, or undefined for any other session. */
export function readSubscriptionSession(object: Json): SubscriptionSessionView | undefined {
  const id = text(object, 'id');
  if (!id || text(object, 'object') !== 'checkout.session' || text(object, 'mode') !== 'subscription') return undefined;
  return { id, stripeSubscriptionId: idOf(object, 'subscription'), rowId: rowIdOf(child(object, 'metadata')) };
}

export type SubscriptionView = {
  id: string;
  status: string | null;
  cancelAtPeriodEnd: boolean;
  currentPeriodEnd: Date | null;
  endedAt: Date | null;
  rowId: string | null;
  itemId: string | null;
};

export function readSubscription(object: Json): SubscriptionView | undefined {
  const id = text(object, 'id');
  if (!id || text(object, 'object') !== 'subscription') return undefined;
  const [item] = firstItems(object, 'items');
  return {
    id,
    status: text(object, 'status'),
    cancelAtPeriodEnd: object.cancel_at_period_end === true,
    currentPeriodEnd: seconds(object, 'current_period_end') ?? seconds(item ?? null, 'current_period_end'),
    endedAt: seconds(object, 'ended_at'),
    rowId: rowIdOf(child(object, 'metadata')),
    itemId: item ? text(item, 'id') : null,
  };
}

export type InvoiceView = {
  id: string;
  stripeSubscriptionId: string | null;
  rowId: string | null;
  amountPaidCents: bigint | null;
  currency: string | null;
  paidAt: Date | null;
  priceIds: string[];
  attemptCount: bigint | null;
  nextAttemptAt: Date | null;
};

function linePriceId(line: Json): string | null {
  const details = child(line, 'pricing', 'price_details');
  return idOf(line, 'price') ?? (details ? idOf(details, 'price') : null);
}

export function readInvoice(object: Json): InvoiceView | undefined {
  const id = text(object, 'id');
  if (!id || text(object, 'object') !== 'invoice') return undefined;
  const details = child(object, 'parent', 'subscription_details') ?? child(object, 'subscription_details');
  return {
    id,
    stripeSubscriptionId: idOf(object, 'subscription') ?? (details ? idOf(details, 'subscription') : null),
    rowId: rowIdOf(details ? child(details, 'metadata') : null),
    amountPaidCents: integer(object, 'amount_paid'),
    currency: text(object, 'currency'),
    paidAt: seconds(child(object, 'status_transitions'), 'paid_at'),
    priceIds: firstItems(object, 'lines').flatMap((line) => linePriceId(line) ?? []),
    attemptCount: integer(object, 'attempt_count'),
    nextAttemptAt: seconds(object, 'next_payment_attempt'),
  };
}
