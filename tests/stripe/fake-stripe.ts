import { decodeForm, field, stringMap, type Form } from './fake-stripe-form.ts';
import * as states from './fake-stripe-state.ts';
import {
  createIntent,
  createState,
  emit,
  newId,
  now,
  type FakeState,
  type StripeEvent,
  type StripeObject,
} from './fake-stripe-state.ts';
import * as plans from './fake-stripe-subscriptions.ts';

/**
 * A small fake of the Stripe API on 127.0.0.1, with just the endpoints Tollgate calls, reached by
 * the real `stripe` SDK through STRIPE_API_BASE_URL. It checks the secret key, honours idempotency
 * keys, records every request so tests can assert what was sent, and lets tests make customers
 * pay, refund and dispute — each producing the event Stripe would send.
 */

export const FAKE_SECRET_KEY = 'sk_test_fakeStripeSecretKey0123456789';

export type RecordedRequest = { method: string; path: string; params: Form; idempotencyKey: string | null };
/** How the next off-session PaymentIntents end. */
type OffSessionMode = 'succeed' | 'decline' | 'processing';

export type FakeStripe = {
  url: string;
  state: FakeState;
  requests: RecordedRequest[];
  offSession: OffSessionMode;
  pay(sessionId: string, options?: states.PayOptions): StripeEvent;
  settleAsync(sessionId: string, succeeded: boolean): StripeEvent;
  expire(sessionId: string): StripeEvent;
  refund(sessionId: string, amountCents: number): StripeEvent;
  dispute(sessionId: string, amountCents: number): { event: StripeEvent; disputeId: string };
  closeDispute(disputeId: string, status: 'won' | 'lost'): StripeEvent;
  /** Prices, subscriptions and invoices, and what a test makes happen to them. */
  plans: plans.PlanState;
  subscribe(sessionId: string): ReturnType<typeof plans.subscribe>;
  renew(subscriptionId: string, options?: Parameters<typeof plans.renew>[3]): ReturnType<typeof plans.renew>;
  payInvoice(invoiceId: string): StripeEvent;
  endSubscription(subscriptionId: string): StripeEvent;
  close(): Promise<void>;
};

type Answer = { status: number; body: unknown };

const ok = (body: unknown): Answer => ({ status: 200, body });
const notFound = (what: string): Answer => ({
  status: 404,
  body: { error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${what}` } },
});

function list(data: StripeObject[], url: string, limit = 10, startingAfter?: string): Answer {
  const start = startingAfter ? data.findIndex((item) => item.id === startingAfter) + 1 : 0;
  const page = data.slice(start, start + limit);
  return ok({ object: 'list', data: page, has_more: start + limit < data.length, url });
}

function createSession(state: FakeState, form: Form): Answer {
  const amount =
    Number(field(form, 'line_items', 0, 'price_data', 'unit_amount')) *
    Number(field(form, 'line_items', 0, 'quantity') ?? '1');
  const id = newId('cs');
  const session: StripeObject = {
    id,
    object: 'checkout.session',
    mode: field(form, 'mode') ?? null,
    amount_subtotal: amount,
    amount_total: amount,
    currency: field(form, 'line_items', 0, 'price_data', 'currency') ?? null,
    customer: field(form, 'customer') ?? null,
    client_reference_id: field(form, 'client_reference_id') ?? null,
    metadata: stringMap(form.metadata),
    payment_intent: null,
    payment_status: 'unpaid',
    status: 'open',
    success_url: field(form, 'success_url') ?? null,
    cancel_url: field(form, 'cancel_url') ?? null,
    url: `https://checkout.stripe.test/c/pay/${id}`,
    created: now(),
    expires_at: now() + 86_400,
    livemode: false,
  };
  const data = form.payment_intent_data;
  state.intentData.set(id, {
    metadata: stringMap(typeof data === 'object' && !Array.isArray(data) ? data.metadata : undefined),
    setup_future_usage: field(data, 'setup_future_usage') ?? null,
  });
  state.sessions.set(id, session);
  return ok(session);
}

function offSessionIntent(fake: FakeStripe, form: Form): Answer {
  const status =
    fake.offSession === 'succeed'
      ? 'succeeded'
      : fake.offSession === 'decline'
        ? 'requires_payment_method'
        : 'processing';
  const intent = createIntent(fake.state, {
    amount: Number(field(form, 'amount')),
    customer: field(form, 'customer') ?? null,
    metadata: stringMap(form.metadata),
    paymentMethod: field(form, 'payment_method') ?? '',
    status,
  });
  if (status === 'succeeded') emit(fake.state, 'payment_intent.succeeded', intent);
  if (status !== 'requires_payment_method') return ok(intent);
  emit(fake.state, 'payment_intent.payment_failed', intent);
  return {
    status: 402,
    body: {
      error: {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'generic_decline',
        message: 'Your card was declined.',
        payment_intent: intent,
      },
    },
  };
}

function withCharge(state: FakeState, intent: StripeObject, expand: Form): StripeObject {
  const wanted = Object.values(expand).includes('latest_charge');
  return wanted && intent.latest_charge
    ? { ...intent, latest_charge: state.charges.get(String(intent.latest_charge)) ?? null }
    : intent;
}

function events(state: FakeState, query: Form): Answer {
  const since = Number(field(query, 'created', 'gte') ?? '0');
  const types = query.types;
  const wanted = Array.isArray(types) ? new Set(types.filter((t): t is string => typeof t === 'string')) : null;
  const matching = [...state.events]
    .reverse()
    .filter((event) => event.created >= since && (!wanted || wanted.has(event.type)));
  return list(
    matching as unknown as StripeObject[],
    '/v1/events',
    Number(field(query, 'limit') ?? '10'),
    field(query, 'starting_after'),
  );
}

function route(fake: FakeStripe, method: string, path: string, form: Form): Answer {
  const { state } = fake;
  const subscriptionAnswer = plans.subscriptionRoute(state, fake.plans, method, path, form);
  if (subscriptionAnswer) return subscriptionAnswer;
  const [, , resource, id] = path.split('/');
  if (method === 'POST' && path === '/v1/customers') {
    const customer: StripeObject = {
      id: newId('cus'),
      object: 'customer',
      email: field(form, 'email') ?? null,
      metadata: stringMap(form.metadata),
    };
    state.customers.set(customer.id, customer);
    return ok(customer);
  }
  if (method === 'POST' && path === '/v1/checkout/sessions') return createSession(state, form);
  if (method === 'GET' && path === '/v1/checkout/sessions') {
    const intent = field(form, 'payment_intent');
    return list(
      [...state.sessions.values()].filter((s) => !intent || s.payment_intent === intent),
      path,
    );
  }
  if (method === 'GET' && path.startsWith('/v1/checkout/sessions/')) {
    const session = state.sessions.get(path.slice('/v1/checkout/sessions/'.length));
    return session ? ok(session) : notFound('checkout.session');
  }
  if (method === 'POST' && path === '/v1/payment_intents') return offSessionIntent(fake, form);
  if (method === 'GET' && resource === 'payment_intents' && id) {
    const intent = state.intents.get(id);
    return intent ? ok(withCharge(state, intent, (form.expand ?? {}) as Form)) : notFound('payment_intent');
  }
  if (method === 'GET' && resource === 'charges' && id)
    return state.charges.get(id) ? ok(state.charges.get(id)) : notFound('charge');
  if (method === 'GET' && path === '/v1/refunds') {
    const charge = field(form, 'charge');
    const refunds = [...state.refunds.values()].filter((r) => r.charge === charge).reverse();
    return list(refunds, path, Number(field(form, 'limit') ?? '10'), field(form, 'starting_after'));
  }
  if (method === 'GET' && path === '/v1/events') return events(state, form);
  return notFound(`route ${method} ${path}`);
}

export async function startFakeStripe(): Promise<FakeStripe> {
  const idempotent = new Map<string, Answer>();
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: async (request) => {
      const url = new URL(request.url);
      const form = decodeForm(request.method === 'GET' ? url.searchParams : new URLSearchParams(await request.text()));
      const idempotencyKey = request.headers.get('idempotency-key');
      fake.requests.push({ method: request.method, path: url.pathname, params: form, idempotencyKey });
      if (request.headers.get('authorization') !== `Bearer ${FAKE_SECRET_KEY}`) {
        return Response.json(
          { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } },
          { status: 401 },
        );
      }
      const replay = idempotencyKey ? idempotent.get(idempotencyKey) : undefined;
      const answer = replay ?? route(fake, request.method, url.pathname, form);
      if (idempotencyKey && request.method === 'POST') idempotent.set(idempotencyKey, answer);
      return Response.json(answer.body, { status: answer.status, headers: { 'request-id': newId('req') } });
    },
  });
  const state = createState();
  const planState = plans.createPlanState();
  const chargeId = (sessionId: string) => states.chargeOfSession(state, sessionId).id;
  const fake: FakeStripe = {
    url: `http://127.0.0.1:${server.port}`,
    state,
    requests: [],
    offSession: 'succeed',
    pay: (sessionId, options) => states.paySession(state, sessionId, options),
    settleAsync: (sessionId, succeeded) => states.settleAsync(state, sessionId, succeeded),
    expire: (sessionId) => states.expireSession(state, sessionId),
    refund: (sessionId, amountCents) => states.refundCharge(state, chargeId(sessionId), amountCents).event,
    dispute: (sessionId, amountCents) => {
      const opened = states.openDispute(state, chargeId(sessionId), amountCents);
      return { event: opened.event, disputeId: opened.dispute.id };
    },
    closeDispute: (disputeId, status) => states.closeDispute(state, disputeId, status),
    plans: planState,
    subscribe: (sessionId) => plans.subscribe(state, planState, sessionId),
    renew: (subscriptionId, options) => plans.renew(state, planState, subscriptionId, options),
    payInvoice: (invoiceId) => plans.payInvoice(state, planState, invoiceId),
    endSubscription: (subscriptionId) => plans.endSubscription(state, planState, subscriptionId),
    close: async () => {
      await server.stop(true);
    },
  };
  return fake;
}
