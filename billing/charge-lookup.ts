import type Stripe from 'stripe';
import { findPayment } from '../db/queries/payments.ts';
import type { TransactionSql } from '../db/sql.ts';
import { applySession, applyTopUpIntent, type Applied } from './credit.ts';
import type { BillingDeps } from './stripe-client.ts';
import { asJson, readIntent, readSession, type SessionView } from './stripe-objects.ts';

/**
 * Finds the payment behind a charge (for its refunds and disputes) by the charge's PaymentIntent.
 * When that payment is not credited yet — its `checkout.session.completed` is late, or was never
 * delivered — Stripe is asked for the session (or the top-up's intent), and the credit is applied
 * first, in the same transaction as the refund or dispute: out-of-order deliveries converge.
 */

export type ChargeTarget = { paymentId: string; lateCredit: ((tx: TransactionSql) => Promise<Applied>) | null };

async function sessionOfIntent(stripe: Stripe, intentId: string): Promise<SessionView | undefined> {
  const sessions = await stripe.checkout.sessions.list({ payment_intent: intentId, limit: 1 });
  const first = sessions.data[0];
  return first ? readSession(asJson(first)) : undefined;
}

export async function chargeTarget(deps: BillingDeps, intentId: string | null): Promise<ChargeTarget | undefined> {
  if (!intentId) return undefined;
  const known = await findPayment(deps.sql, { paymentIntentId: intentId });
  if (known?.status === 'paid') return { paymentId: known.id, lateCredit: null };
  const intent = readIntent(asJson(await deps.stripe.paymentIntents.retrieve(intentId)));
  const paymentId = known?.id ?? intent?.paymentId;
  if (!intent || !paymentId) return undefined;
  const payment = known ?? (await findPayment(deps.sql, { id: paymentId }));
  if (!payment) return undefined;
  if (payment.kind === 'auto_top_up') return { paymentId, lateCredit: (tx) => applyTopUpIntent(tx, intent) };
  const session = await sessionOfIntent(deps.stripe, intentId);
  return { paymentId, lateCredit: session ? (tx) => applySession(tx, session) : null };
}
