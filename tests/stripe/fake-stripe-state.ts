/**
 * The fake Stripe's objects and what a test can make happen to them: a customer pays a session
 * (at once, or asynchronously), refunds, disputes and their outcome. Every change that Stripe would
 * announce becomes an event, kept in order for `GET /v1/events` and returned for delivery.
 */

export type StripeObject = Record<string, unknown> & { id: string };
export type StripeEvent = {
  id: string;
  object: 'event';
  type: string;
  created: number;
  api_version: string;
  livemode: false;
  pending_webhooks: number;
  request: { id: null; idempotency_key: null };
  data: { object: StripeObject };
};

export type FakeState = {
  customers: Map<string, StripeObject>;
  sessions: Map<string, StripeObject>;
  intents: Map<string, StripeObject>;
  charges: Map<string, StripeObject>;
  refunds: Map<string, StripeObject>;
  disputes: Map<string, StripeObject>;
  /** `payment_intent_data` of each session: not part of Stripe's session object, used when it is paid. */
  intentData: Map<string, Record<string, unknown>>;
  events: StripeEvent[];
};

let sequence = 0;

/** Ids like Stripe's, unique within the run. */
export function newId(prefix: string): string {
  sequence += 1;
  return `${prefix}_test_${sequence.toString(36).padStart(6, '0')}${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

export const now = () => Math.floor(Date.now() / 1000);

export function createState(): FakeState {
  return {
    customers: new Map(),
    sessions: new Map(),
    intents: new Map(),
    charges: new Map(),
    refunds: new Map(),
    disputes: new Map(),
    intentData: new Map(),
    events: [],
  };
}

export function emit(state: FakeState, type: string, object: StripeObject): StripeEvent {
  const event: StripeEvent = {
    id: newId('evt'),
    object: 'event',
    type,
    created: now(),
    api_version: '2026-10-28.endive',
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object: structuredClone(object) },
  };
  state.events.push(event);
  return event;
}

function must(map: Map<string, StripeObject>, id: string, what: string): StripeObject {
  const object = map.get(id);
  if (!object) throw new Error(`fake stripe: no ${what} ${id}`);
  return object;
}

type ChargeOptions = {
  amount: number;
  customer: unknown;
  metadata: unknown;
  paymentMethod: string;
  status: 'succeeded' | 'processing' | 'requires_payment_method';
};

/** A PaymentIntent and, unless it failed, its charge. */
export function createIntent(state: FakeState, options: ChargeOptions): StripeObject {
  const intent: StripeObject = {
    id: newId('pi'),
    object: 'payment_intent',
    amount: options.amount,
    amount_received: options.status === 'succeeded' ? options.amount : 0,
    currency: 'usd',
    customer: options.customer,
    metadata: options.metadata,
    payment_method: options.paymentMethod,
    status: options.status,
    latest_charge: null,
    last_payment_error:
      options.status === 'requires_payment_method'
        ? { type: 'card_error', code: 'card_declined', message: 'Your card was declined.' }
        : null,
    created: now(),
  };
  if (options.status !== 'requires_payment_method') {
    const charge: StripeObject = {
      id: newId('ch'),
      object: 'charge',
      amount: options.amount,
      amount_refunded: 0,
      currency: 'usd',
      payment_intent: intent.id,
      receipt_url: `https://pay.stripe.test/receipts/${intent.id}`,
      refunded: false,
      disputed: false,
      paid: options.status === 'succeeded',
      status: options.status === 'succeeded' ? 'succeeded' : 'pending',
      metadata: {},
      created: now(),
    };
    state.charges.set(charge.id, charge);
    intent.latest_charge = charge.id;
  }
  state.intents.set(intent.id, intent);
  return intent;
}

export type PayOptions = { asynchronous?: boolean; amountTotal?: number; currency?: string };

/** The customer pays the session on Stripe's page: `checkout.session.completed`, paid or (async) unpaid. */
export function paySession(state: FakeState, sessionId: string, options: PayOptions = {}): StripeEvent {
  const session = must(state.sessions, sessionId, 'session');
  const data = state.intentData.get(sessionId) ?? {};
  const amount = options.amountTotal ?? Number(session.amount_total);
  const intent = createIntent(state, {
    amount,
    customer: session.customer,
    metadata: data.metadata ?? {},
    paymentMethod: newId('pm'),
    status: options.asynchronous ? 'processing' : 'succeeded',
  });
  Object.assign(session, {
    status: 'complete',
    payment_status: options.asynchronous ? 'unpaid' : 'paid',
    payment_intent: intent.id,
    amount_total: amount,
    currency: options.currency ?? session.currency,
  });
  return emit(state, 'checkout.session.completed', session);
}

/** The asynchronous payment of a session settles, one way or the other. */
export function settleAsync(state: FakeState, sessionId: string, succeeded: boolean): StripeEvent {
  const session = must(state.sessions, sessionId, 'session');
  const intent = must(state.intents, String(session.payment_intent), 'intent');
  Object.assign(
    intent,
    succeeded ? { status: 'succeeded', amount_received: intent.amount } : { status: 'requires_payment_method' },
  );
  const charge = state.charges.get(String(intent.latest_charge));
  if (charge) Object.assign(charge, { paid: succeeded, status: succeeded ? 'succeeded' : 'failed' });
  if (succeeded) session.payment_status = 'paid';
  return emit(
    state,
    succeeded ? 'checkout.session.async_payment_succeeded' : 'checkout.session.async_payment_failed',
    session,
  );
}

export function expireSession(state: FakeState, sessionId: string): StripeEvent {
  const session = must(state.sessions, sessionId, 'session');
  session.status = 'expired';
  return emit(state, 'checkout.session.expired', session);
}

export function chargeOfSession(state: FakeState, sessionId: string): StripeObject {
  const session = must(state.sessions, sessionId, 'session');
  const intent = must(state.intents, String(session.payment_intent), 'intent');
  return must(state.charges, String(intent.latest_charge), 'charge');
}

/** A refund of part or all of a charge: `charge.refunded` with the charge's new refunded total. */
export function refundCharge(
  state: FakeState,
  chargeId: string,
  amount: number,
): { event: StripeEvent; refund: StripeObject } {
  const charge = must(state.charges, chargeId, 'charge');
  const refund: StripeObject = {
    id: newId('re'),
    object: 'refund',
    amount,
    charge: chargeId,
    payment_intent: charge.payment_intent,
    currency: 'usd',
    status: 'succeeded',
    created: now() + state.refunds.size,
  };
  state.refunds.set(refund.id, refund);
  const refunded = Number(charge.amount_refunded) + amount;
  Object.assign(charge, { amount_refunded: refunded, refunded: refunded >= Number(charge.amount) });
  return { event: emit(state, 'charge.refunded', charge), refund };
}

export function openDispute(
  state: FakeState,
  chargeId: string,
  amount: number,
): { event: StripeEvent; dispute: StripeObject } {
  const charge = must(state.charges, chargeId, 'charge');
  const dispute: StripeObject = {
    id: newId('dp'),
    object: 'dispute',
    amount,
    charge: chargeId,
    payment_intent: charge.payment_intent,
    currency: 'usd',
    reason: 'fraudulent',
    status: 'needs_response',
    created: now(),
  };
  state.disputes.set(dispute.id, dispute);
  charge.disputed = true;
  return { event: emit(state, 'charge.dispute.created', dispute), dispute };
}

export function closeDispute(state: FakeState, disputeId: string, status: 'won' | 'lost'): StripeEvent {
  const dispute = must(state.disputes, disputeId, 'dispute');
  dispute.status = status;
  return emit(state, 'charge.dispute.closed', dispute);
}
