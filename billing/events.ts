import type Stripe from 'stripe';
import { lockPayment, recordReceipt, type Payment } from '../db/queries/payments.ts';
import { isEventRecorded, recordEvent, setEventOutcome, type EventSource } from '../db/queries/stripe-events.ts';
import { inTransaction, type TransactionSql } from '../db/sql.ts';
import { chargeTarget, type ChargeTarget } from './charge-lookup.ts';
import { applySession, applyTopUpIntent, closeSession, nothing, type Applied } from './credit.ts';
import { applyDispute, applyRefunds } from './reversals.ts';
import type { BillingDeps } from './stripe-client.ts';
import {
  SUBSCRIPTION_HANDLERS,
  subscriptionSessionCompleted,
  subscriptionSessionExpired,
} from './subscription-events.ts';
import {
  asJson,
  readCharge,
  readDispute,
  readEvent,
  readIntent,
  readRefund,
  readSession,
  type RefundView,
  type StripeEventView,
} from './stripe-objects.ts';

/**
 * Applies one Stripe event, from a webhook delivery or the missed-events sync alike. Anything that
 * needs the Stripe API is read first, outside any transaction; then one transaction records the
 * event id and applies its effects, so a recorded event is a fully applied one, and a failure
 * leaves nothing recorded for Stripe's retry (or the next sync) to redo.
 */

type Effect = (tx: TransactionSql) => Promise<Applied>;
type Handler = (deps: BillingDeps, event: StripeEventView) => Promise<Effect>;

/** A charge cannot have more refunds than this in practice; the bound keeps the listing finite. */
const MAX_REFUNDS_PER_CHARGE = 1_000;

const ignore =
  (outcome: string): Effect =>
  async () =>
    nothing(outcome);

const NOT_OURS = 'not a Tollgate payment: ignored';

const paidSession: Handler = async (deps, event) => {
  const session = readSession(event.object);
  if (session?.mode === 'subscription') return subscriptionSessionCompleted(deps, event);
  if (session?.mode !== 'payment' || !session.paymentId) return ignore(NOT_OURS);
  return (tx) => applySession(tx, session);
};

const closedSession =
  (status: 'failed' | 'expired'): Handler =>
  async (deps, event) => {
    const session = readSession(event.object);
    if (session?.mode === 'subscription' && status === 'expired') return subscriptionSessionExpired(deps, event);
    if (session?.mode !== 'payment' || !session.paymentId) return ignore(NOT_OURS);
    return (tx) => closeSession(tx, session, status);
  };

const topUpIntent: Handler = async (_deps, event) => {
  const intent = readIntent(event.object);
  if (!intent?.paymentId) return ignore(NOT_OURS);
  return (tx) => applyTopUpIntent(tx, intent);
};

async function listRefunds(stripe: Stripe, chargeId: string): Promise<RefundView[]> {
  const refunds: RefundView[] = [];
  for await (const refund of stripe.refunds.list({ charge: chargeId, limit: 100 })) {
    const view = readRefund(asJson(refund));
    if (view) refunds.push(view);
    if (refunds.length >= MAX_REFUNDS_PER_CHARGE) break;
  }
  return refunds;
}

/** Runs the late credit (if any) and then the reversal, on the payment locked once for both. */
function onPayment(target: ChargeTarget, apply: (tx: TransactionSql, payment: Payment) => Promise<Applied>): Effect {
  return async (tx) => {
    const late = target.lateCredit ? await target.lateCredit(tx) : null;
    const payment = await lockPayment(tx, target.paymentId);
    if (!payment) throw new Error(`payment ${target.paymentId} vanished`);
    const applied = await apply(tx, payment);
    if (!late?.credited) return applied;
    return {
      outcome: `${late.outcome}; ${applied.outcome}`,
      payment: applied.payment,
      balanceChanged: true,
      credited: true,
    };
  };
}

/** `charge.refunded` carries the charge, `charge.refund.updated` the refund: both re-read the charge's refunds. */
const refunds: Handler = async (deps, event) => {
  const charge = readCharge(event.object);
  const refund = readRefund(event.object);
  const chargeId = charge?.id ?? refund?.chargeId;
  if (!chargeId) return ignore('no charge: ignored');
  const target = await chargeTarget(deps, charge?.paymentIntentId ?? refund?.paymentIntentId ?? null);
  if (!target) return ignore(NOT_OURS);
  const list = await listRefunds(deps.stripe, chargeId);
  return onPayment(target, async (tx, payment) => {
    if (charge) await recordReceipt(tx, payment.id, charge.id, charge.receiptUrl);
    return applyRefunds(tx, payment, list);
  });
};

const disputes: Handler = async (deps, event) => {
  const dispute = readDispute(event.object);
  if (!dispute) return ignore('no dispute: ignored');
  let intentId = dispute.paymentIntentId;
  if (!intentId && dispute.chargeId)
    intentId = readCharge(asJson(await deps.stripe.charges.retrieve(dispute.chargeId)))?.paymentIntentId ?? null;
  const target = await chargeTarget(deps, intentId);
  if (!target) return ignore(NOT_OURS);
  return onPayment(target, (tx, payment) => applyDispute(tx, payment, dispute));
};

const HANDLERS = new Map<string, Handler>([
  ['checkout.session.completed', paidSession],
  ['checkout.session.async_payment_succeeded', paidSession],
  ['checkout.session.async_payment_failed', closedSession('failed')],
  ['checkout.session.expired', closedSession('expired')],
  ['charge.refunded', refunds],
  ['charge.refund.updated', refunds],
  ['charge.dispute.created', disputes],
  ['charge.dispute.updated', disputes],
  ['charge.dispute.closed', disputes],
  ['payment_intent.succeeded', topUpIntent],
  ['payment_intent.payment_failed', topUpIntent],
  ...SUBSCRIPTION_HANDLERS,
]);

/** The event types to enable on the Stripe webhook endpoint (and the ones the sync asks for). */
export const HANDLED_EVENT_TYPES: readonly string[] = [...HANDLERS.keys()];

export class InvalidStripeEvent extends Error {}

type EventResult = Applied & { eventId: string; type: string; duplicate: boolean };

export async function processStripeEvent(deps: BillingDeps, raw: unknown, source: EventSource): Promise<EventResult> {
  const event = readEvent(raw);
  if (!event) throw new InvalidStripeEvent('not a Stripe event');
  const duplicate: EventResult = { ...nothing('duplicate'), eventId: event.id, type: event.type, duplicate: true };
  if (await isEventRecorded(deps.sql, event.id)) return duplicate;
  const handler = HANDLERS.get(event.type);
  const effect = handler ? await handler(deps, event) : ignore('event type not handled: ignored');
  const applied = await inTransaction(deps.sql, async (tx) => {
    // Concurrent deliveries of this event wait here for the first; they then find it recorded.
    if (!(await recordEvent(tx, { id: event.id, type: event.type, createdAt: event.createdAt, source }))) return null;
    const result = await effect(tx);
    await setEventOutcome(tx, event.id, result.outcome, result.payment?.id ?? null);
    return result;
  });
  return applied ? { ...applied, eventId: event.id, type: event.type, duplicate: false } : duplicate;
}
