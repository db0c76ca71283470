import { field, stringMap, type Form } from './fake-stripe-form.ts';
import { emit, newId, now, type FakeState, type StripeEvent, type StripeObject } from './fake-stripe-state.ts';

/**
 * The subscription side of the fake Stripe: recurring Prices, Checkout Sessions in subscription
 * mode, subscriptions and their invoices, in the shapes of Stripe's current API (an invoice names
 * its subscription under `parent.subscription_details`, a line its price under `pricing`; the
 * billing period sits on the subscription's item). Tests make the customer subscribe, renewals
 * succeed or fail, retries pay, and subscriptions end, each producing Stripe's events.
 */

const PERIOD_SECONDS = 30 * 86_400;
const RETRY_DELAY_SECONDS = 3 * 86_400;

export type PlanState = {
  prices: Map<string, StripeObject>;
  subscriptions: Map<string, StripeObject>;
  invoices: Map<string, StripeObject>;
  /** The price and `subscription_data.metadata` of each subscription-mode session, given to its subscription. */
  sessionData: Map<string, { priceId: string; metadata: Record<string, string> }>;
};

export const createPlanState = (): PlanState => ({
  prices: new Map(),
  subscriptions: new Map(),
  invoices: new Map(),
  sessionData: new Map(),
});

type Answer = { status: number; body: unknown };

function must(map: Map<string, StripeObject>, id: string, what: string): StripeObject {
  const object = map.get(id);
  if (!object) throw new Error(`fake stripe: no ${what} ${id}`);
  return object;
}

function item(subscription: StripeObject): StripeObject {
  const items = subscription.items as { data: StripeObject[] };
  const first = items.data[0];
  if (!first) throw new Error('fake stripe: subscription without item');
  return first;
}

function createPrice(plans: PlanState, form: Form): StripeObject {
  const price: StripeObject = {
    id: newId('price'),
    object: 'price',
    currency: field(form, 'currency') ?? null,
    unit_amount: Number(field(form, 'unit_amount')),
    recurring: { interval: field(form, 'recurring', 'interval') ?? null, interval_count: 1 },
    product: newId('prod'),
    metadata: stringMap(form.metadata),
    active: true,
  };
  plans.prices.set(price.id, price);
  return price;
}

function createSubscriptionSession(state: FakeState, plans: PlanState, form: Form): StripeObject {
  const price = must(plans.prices, field(form, 'line_items', 0, 'price') ?? '', 'price');
  const id = newId('cs');
  const session: StripeObject = {
    id,
    object: 'checkout.session',
    mode: 'subscription',
    amount_total: price.unit_amount,
    currency: price.currency,
    customer: field(form, 'customer') ?? null,
    client_reference_id: field(form, 'client_reference_id') ?? null,
    metadata: stringMap(form.metadata),
    payment_status: 'unpaid',
    status: 'open',
    subscription: null,
    success_url: field(form, 'success_url') ?? null,
    cancel_url: field(form, 'cancel_url') ?? null,
    url: `https://checkout.stripe.test/c/pay/${id}`,
    created: now(),
  };
  const data = form.subscription_data;
  plans.sessionData.set(id, {
    priceId: price.id,
    metadata: stringMap(typeof data === 'object' && !Array.isArray(data) ? data.metadata : undefined),
  });
  state.sessions.set(id, session);
  return session;
}

function updateSubscription(state: FakeState, plans: PlanState, id: string, form: Form): Answer {
  const subscription = plans.subscriptions.get(id);
  if (!subscription)
    return {
      status: 404,
      body: {
        error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such subscription: ${id}` },
      },
    };
  const cancel = field(form, 'cancel_at_period_end');
  if (cancel !== undefined) subscription.cancel_at_period_end = cancel === 'true';
  const priceId = field(form, 'items', 0, 'price');
  if (priceId) item(subscription).price = must(plans.prices, priceId, 'price');
  subscription.metadata = { ...(subscription.metadata as Record<string, string>), ...stringMap(form.metadata) };
  emit(state, 'customer.subscription.updated', subscription);
  return { status: 200, body: subscription };
}

/** The fake's answer for a subscription route, or undefined when the path is not one. */
export function subscriptionRoute(
  state: FakeState,
  plans: PlanState,
  method: string,
  path: string,
  form: Form,
): Answer | undefined {
  const [, , resource, id] = path.split('/');
  if (method === 'POST' && path === '/v1/prices') return { status: 200, body: createPrice(plans, form) };
  if (method === 'POST' && path === '/v1/checkout/sessions' && field(form, 'mode') === 'subscription')
    return { status: 200, body: createSubscriptionSession(state, plans, form) };
  if (resource !== 'subscriptions' || !id) return undefined;
  if (method === 'POST') return updateSubscription(state, plans, id, form);
  const subscription = plans.subscriptions.get(id);
  return subscription
    ? { status: 200, body: subscription }
    : {
        status: 404,
        body: {
          error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such subscription: ${id}` },
        },
      };
}

type InvoiceOptions = { fail?: boolean; amountPaid?: number; paidAt?: number };

function invoiceFor(
  state: FakeState,
  plans: PlanState,
  subscription: StripeObject,
  reason: string,
  options: InvoiceOptions,
): { invoice: StripeObject; event: StripeEvent } {
  const price = item(subscription).price as StripeObject;
  const amount = Number(price.unit_amount);
  const invoice: StripeObject = {
    id: newId('in'),
    object: 'invoice',
    billing_reason: reason,
    customer: subscription.customer,
    currency: price.currency,
    amount_due: amount,
    amount_paid: options.fail ? 0 : (options.amountPaid ?? amount),
    attempt_count: 1,
    next_payment_attempt: options.fail ? now() + RETRY_DELAY_SECONDS : null,
    status: options.fail ? 'open' : 'paid',
    status_transitions: { paid_at: options.fail ? null : (options.paidAt ?? now()) },
    parent: {
      type: 'subscription_details',
      subscription_details: { subscription: subscription.id, metadata: subscription.metadata },
    },
    lines: {
      object: 'list',
      data: [
        {
          id: newId('il'),
          object: 'line_item',
          amount,
          pricing: { type: 'price_details', price_details: { price: price.id, product: price.product } },
        },
      ],
    },
    created: now(),
  };
  plans.invoices.set(invoice.id, invoice);
  return { invoice, event: emit(state, options.fail ? 'invoice.payment_failed' : 'invoice.paid', invoice) };
}

/** The customer pays the subscription-mode session: the subscription, its first invoice paid, the session completed. */
export function subscribe(
  state: FakeState,
  plans: PlanState,
  sessionId: string,
): { subscriptionId: string; invoicePaid: StripeEvent; completed: StripeEvent } {
  const session = must(state.sessions, sessionId, 'session');
  const data = plans.sessionData.get(sessionId);
  const price = must(plans.prices, data?.priceId ?? '', 'price');
  const start = now();
  const subscription: StripeObject = {
    id: newId('sub'),
    object: 'subscription',
    customer: session.customer,
    status: 'active',
    cancel_at_period_end: false,
    ended_at: null,
    metadata: data?.metadata ?? {},
    items: {
      object: 'list',
      data: [
        {
          id: newId('si'),
          object: 'subscription_item',
          price,
          quantity: 1,
          current_period_start: start,
          current_period_end: start + PERIOD_SECONDS,
        },
      ],
    },
    created: start,
  };
  plans.subscriptions.set(subscription.id, subscription);
  const { event: invoicePaid } = invoiceFor(state, plans, subscription, 'subscription_create', {});
  Object.assign(session, { status: 'complete', payment_status: 'paid', subscription: subscription.id });
  return {
    subscriptionId: subscription.id,
    invoicePaid,
    completed: emit(state, 'checkout.session.completed', session),
  };
}

/** A new billing period starts: its invoice is paid, or fails and leaves the subscription past due. */
export function renew(
  state: FakeState,
  plans: PlanState,
  subscriptionId: string,
  options: InvoiceOptions = {},
): { invoiceId: string; event: StripeEvent } {
  const subscription = must(plans.subscriptions, subscriptionId, 'subscription');
  const period = item(subscription);
  Object.assign(period, {
    current_period_start: Number(period.current_period_end),
    current_period_end: Number(period.current_period_end) + PERIOD_SECONDS,
  });
  if (options.fail) subscription.status = 'past_due';
  const { invoice, event } = invoiceFor(state, plans, subscription, 'subscription_cycle', options);
  return { invoiceId: invoice.id, event };
}

/** Stripe's retry of a failed invoice succeeds. */
export function payInvoice(state: FakeState, plans: PlanState, invoiceId: string): StripeEvent {
  const invoice = must(plans.invoices, invoiceId, 'invoice');
  Object.assign(invoice, {
    status: 'paid',
    amount_paid: invoice.amount_due,
    attempt_count: 2,
    next_payment_attempt: null,
    status_transitions: { paid_at: now() },
  });
  const details = (invoice.parent as { subscription_details: { subscription: string } }).subscription_details;
  must(plans.subscriptions, details.subscription, 'subscription').status = 'active';
  return emit(state, 'invoice.paid', invoice);
}

/** The subscription ends (cancelled at period end, or for non-payment): `customer.subscription.deleted`. */
export function endSubscription(state: FakeState, plans: PlanState, subscriptionId: string): StripeEvent {
  const subscription = must(plans.subscriptions, subscriptionId, 'subscription');
  Object.assign(subscription, { status: 'canceled', ended_at: now() });
  return emit(state, 'customer.subscription.deleted', subscription);
}
