import { recordPaymentTransfer } from '../db/queries/payment-ledger.ts';
import {
  attachCheckoutSession,
  attachPaymentIntent,
  findPayment,
  lockPayment,
  markPaymentPaid,
  setPaymentStatus,
  type Payment,
} from '../db/queries/payments.ts';
import type { TransactionSql } from '../db/sql.ts';
import { noticePaymentSucceeded, noticeTopUpFailed } from '../notify/payment-notices.ts';
import { coverage, splitCredit } from './amounts.ts';
import type { IntentView, SessionView } from './stripe-objects.ts';

/**
 * Crediting a payment, exactly once. The purchase transfer's cause is the payment's business key —
 * the Checkout Session id, or the PaymentIntent id for an off-session auto top-up — so whichever
 * event (completed, async succeeded, a late refund, the missed-events sync, the top-up's own answer)
 * gets here first credits, and every other path finds the transfer and changes nothing. The
 * payment's row lock orders them; the unique (kind, cause) of transfers and the one-purchase index
 * of payment_transfers would refuse a second credit even without it.
 */

/** What applying an event did, for the event's recorded outcome and the caller's follow-up. */
export type Applied = {
  outcome: string;
  payment: Payment | null;
  balanceChanged: boolean;
  credited: boolean;
  accountId?: string;
};

export const nothing = (outcome: string, payment: Payment | null = null): Applied => ({
  outcome,
  payment,
  balanceChanged: false,
  credited: false,
});

type CreditBasis = {
  cause: string;
  currency: string | null;
  amountPaidCents: bigint | null;
  paymentIntentId: string | null;
};

async function credit(tx: TransactionSql, payment: Payment, basis: CreditBasis): Promise<Applied> {
  if (payment.status === 'paid') return nothing('already credited', payment);
  const covered = coverage(basis.currency, basis.amountPaidCents, payment.priceNanos);
  if ('shortfall' in covered) {
    await setPaymentStatus(tx, payment.id, 'mismatch', covered.shortfall);
    return nothing('amount mismatch: not credited', payment);
  }
  const paid = covered.paidCents;
  const split = splitCredit(payment.priceNanos, payment.creditNanos);
  const result = await recordPaymentTransfer(tx, {
    payment,
    kind: 'purchase',
    stripeObjectId: basis.cause,
    paidNanos: split.paidNanos,
    grantedNanos: split.grantedNanos,
    memo: { description: payment.description, packId: payment.packId, amountPaidCents: paid.toString() },
  });
  if (!result.applied) return nothing('already credited', payment);
  await markPaymentPaid(tx, payment.id, paid, basis.paymentIntentId);
  await noticePaymentSucceeded(tx, payment);
  return {
    outcome: 'credited',
    payment: { ...payment, status: 'paid', paymentIntentId: payment.paymentIntentId ?? basis.paymentIntentId },
    balanceChanged: true,
    credited: true,
  };
}

/** The payment of a Tollgate session, locked: by its session id, else by the id in its metadata. */
async function lockSessionPayment(tx: TransactionSql, session: SessionView): Promise<Payment | undefined> {
  const bySession = await findPayment(tx, { checkoutSessionId: session.id });
  const paymentId = bySession?.id ?? session.paymentId;
  if (!paymentId) return undefined;
  const payment = await lockPayment(tx, paymentId);
  if (payment?.kind !== 'checkout') return undefined;
  if (payment.checkoutSessionId === null) {
    // The session was created but the process stopped before writing its id down.
    await attachCheckoutSession(tx, payment.id, session.id);
    return { ...payment, checkoutSessionId: session.id };
  }
  return payment.checkoutSessionId === session.id ? payment : undefined;
}

/** A completed or async-succeeded session: credits when Stripe says it is paid. */
export async function applySession(tx: TransactionSql, session: SessionView): Promise<Applied> {
  const payment = await lockSessionPayment(tx, session);
  if (!payment) return nothing('unknown checkout session: ignored');
  if (payment.status === 'paid') return nothing('already credited', payment);
  if (session.paymentStatus !== 'paid') {
    // An asynchronous payment method (a bank debit, say): the money is not there yet.
    await setPaymentStatus(tx, payment.id, 'processing', null);
    return nothing('awaiting asynchronous payment', payment);
  }
  return credit(tx, payment, {
    cause: session.id,
    currency: session.currency,
    amountPaidCents: session.amountTotalCents,
    paymentIntentId: session.paymentIntentId,
  });
}

/** A session whose payment failed or that expired unpaid: recorded on the payment, no credit. */
export async function closeSession(
  tx: TransactionSql,
  session: SessionView,
  status: 'failed' | 'expired',
): Promise<Applied> {
  const payment = await lockSessionPayment(tx, session);
  if (!payment) return nothing('unknown checkout session: ignored');
  const reason = status === 'failed' ? 'The payment failed.' : null;
  const changed = await setPaymentStatus(tx, payment.id, status, reason);
  if (changed && reason) await noticeTopUpFailed(tx, payment, reason);
  return nothing(changed ? `payment ${status}` : 'already paid: unchanged', payment);
}

/** A succeeded off-session PaymentIntent of an auto top-up: credits once, keyed by the intent. */
export async function applyTopUpIntent(tx: TransactionSql, intent: IntentView): Promise<Applied> {
  const payment = intent.paymentId ? await lockPayment(tx, intent.paymentId) : undefined;
  if (payment?.kind !== 'auto_top_up') return nothing('not an auto top-up: ignored');
  if (payment.paymentIntentId !== null && payment.paymentIntentId !== intent.id)
    return nothing('another intent of this payment: ignored', payment);
  await attachPaymentIntent(tx, payment.id, intent.id);
  if (intent.status !== 'succeeded') {
    const failed =
      intent.status === 'requires_payment_method' ||
      intent.status === 'canceled' ||
      intent.status === 'requires_action';
    if (failed) {
      const reason = intent.failureMessage ?? `The charge did not go through (${intent.status}).`;
      if (await setPaymentStatus(tx, payment.id, 'failed', reason)) await noticeTopUpFailed(tx, payment, reason);
    } else await setPaymentStatus(tx, payment.id, 'processing', null);
    return nothing(failed ? 'auto top-up failed' : 'auto top-up processing', payment);
  }
  return credit(tx, payment, {
    cause: intent.id,
    currency: intent.currency,
    amountPaidCents: intent.amountReceivedCents,
    paymentIntentId: intent.id,
  });
}
