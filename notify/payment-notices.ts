import { formatUsd } from '../core/money.ts';
import type { Payment } from '../db/queries/payments.ts';
import type { TransactionSql } from '../db/sql.ts';
import { emitAccountEvent, money } from './events.ts';
import { noticeAccount } from './notices.ts';

/**
 * Payment notices, written in the transaction that records the payment's outcome (the Stripe
 * event's, or the auto top-up's own): a receipt for credit bought, and a warning when an auto
 * top-up or a plan renewal did not go through. Each names its payment (or invoice attempt), so a
 * replayed Stripe event adds nothing.
 */

/**
 * The receipt e-mail waits a little: Stripe's receipt link is read just after the credit commits
 * (billing/receipts.ts), and the message should carry it. Without it, the link is the billing page.
 */
const RECEIPT_DELAY_SECONDS = 5;

export async function noticePaymentSucceeded(tx: TransactionSql, payment: Payment): Promise<void> {
  const account = await noticeAccount(tx, payment.accountId);
  if (!account) return;
  await emitAccountEvent(tx, account, {
    type: 'payment.succeeded',
    cause: payment.id,
    data: {
      paymentId: payment.id,
      kind: payment.kind,
      description: payment.description,
      amount: money(payment.priceNanos),
      credit: money(payment.creditNanos),
    },
    email: {
      topic: 'payment_succeeded',
      cause: payment.id,
      data: {
        paymentId: payment.id,
        description: payment.description,
        amountNanos: payment.priceNanos.toString(),
        creditNanos: payment.creditNanos.toString(),
      },
      delaySeconds: RECEIPT_DELAY_SECONDS,
    },
  });
}

type Failure = {
  accountId: string;
  /** The payment, or the invoice and its attempt: each failed attempt is its own notice. */
  cause: string;
  kind: 'auto_top_up' | 'checkout' | 'renewal';
  what: string;
  reason: string;
  paymentId?: string;
  invoiceId?: string;
};

export async function noticePaymentFailed(tx: TransactionSql, failure: Failure): Promise<void> {
  const account = await noticeAccount(tx, failure.accountId);
  if (!account) return;
  const ids = {
    ...(failure.paymentId ? { paymentId: failure.paymentId } : {}),
    ...(failure.invoiceId ? { invoiceId: failure.invoiceId } : {}),
  };
  await emitAccountEvent(tx, account, {
    type: 'payment.failed',
    cause: failure.cause,
    data: { ...ids, kind: failure.kind, reason: failure.reason },
    email: { topic: 'payment_failed', cause: failure.cause, data: { what: failure.what, reason: failure.reason } },
  });
}

/** The failure notice of an auto top-up payment. */
export function noticeTopUpFailed(tx: TransactionSql, payment: Payment, reason: string): Promise<void> {
  return noticePaymentFailed(tx, {
    accountId: payment.accountId,
    cause: payment.id,
    kind: payment.kind === 'auto_top_up' ? 'auto_top_up' : 'checkout',
    what:
      payment.kind === 'auto_top_up'
        ? `Your automatic top-up of $${formatUsd(payment.priceNanos)}`
        : `Your payment of $${formatUsd(payment.priceNanos)}`,
    reason,
    paymentId: payment.id,
  });
}
