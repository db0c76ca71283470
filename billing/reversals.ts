import {
  disputeTaken,
  paymentPosition,
  recordPaymentTransfer,
  type PaymentPosition,
} from '../db/queries/payment-ledger.ts';
import type { Payment } from '../db/queries/payments.ts';
import type { TransactionSql } from '../db/sql.ts';
import { capSplit, proRataSplit, splitCredit, type CreditSplit } from './amounts.ts';
import { nothing, type Applied } from './credit.ts';
import type { DisputeView, RefundView } from './stripe-objects.ts';

/**
 * Refunds and disputes take credit back from a credited payment, in proportion to the money going
 * back (paid and bonus credit alike), never more than the payment still has on the wallet. The
 * wallet may go below zero when the credit was already spent: that negative is explicit, tied to
 * its refund or dispute, and blocks further paid use until the customer buys again. Callers hold
 * the payment's row lock.
 */

/** Refunds that send money back: a pending refund counts, so the credit cannot be spent meanwhile. */
const COUNTED_REFUND_STATUSES = new Set(['succeeded', 'pending']);
/** Dispute outcomes that return the money to the merchant (or where none was ever withdrawn). */
const RESTORING_DISPUTE_STATUSES = new Set(['won', 'warning_closed']);

function remaining(position: PaymentPosition): CreditSplit {
  return { paidNanos: position.paidNanos, grantedNanos: position.grantedNanos };
}

function creditOf(payment: Payment): CreditSplit {
  return splitCredit(payment.priceNanos, payment.creditNanos);
}

function paidCents(payment: Payment): bigint {
  if (payment.amountPaidCents === null) throw new Error(`payment ${payment.id} is credited without an amount paid`);
  return payment.amountPaidCents;
}

async function takeBack(
  tx: TransactionSql,
  payment: Payment,
  position: PaymentPosition,
  kind: 'refund' | 'dispute',
  objectId: string,
  wanted: CreditSplit,
  memo: Record<string, unknown>,
): Promise<boolean> {
  const take = capSplit(wanted, remaining(position));
  if (take.paidNanos + take.grantedNanos === 0n) return false;
  const result = await recordPaymentTransfer(tx, {
    payment,
    kind,
    stripeObjectId: objectId,
    paidNanos: -take.paidNanos,
    grantedNanos: -take.grantedNanos,
    memo: { ...memo, purchaseTransferId: position.purchaseTransferId?.toString() ?? null },
  });
  if (!result.applied) return false;
  position.paidNanos -= take.paidNanos;
  position.grantedNanos -= take.grantedNanos;
  position.recorded.add(`${kind}:${objectId}`);
  return true;
}

/**
 * Applies every counted refund of the charge not applied yet. Shares are cumulative in the order
 * Stripe created the refunds, so refunds adding up to the whole charge reverse the whole credit.
 */
export async function applyRefunds(
  tx: TransactionSql,
  payment: Payment,
  refunds: readonly RefundView[],
): Promise<Applied> {
  if (payment.status !== 'paid') return nothing('refund of a payment that was not credited', payment);
  const position = await paymentPosition(tx, payment.id);
  const counted = refunds
    .filter((refund) => COUNTED_REFUND_STATUSES.has(refund.status ?? ''))
    .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  const whole = paidCents(payment);
  let before = 0n;
  let applied = 0;
  for (const refund of counted) {
    if (!position.recorded.has(`refund:${refund.id}`)) {
      const wanted = proRataSplit(creditOf(payment), before, refund.amountCents, whole);
      if (
        await takeBack(tx, payment, position, 'refund', refund.id, wanted, {
          refundCents: refund.amountCents.toString(),
          chargeId: refund.chargeId,
        })
      )
        applied += 1;
    }
    before += refund.amountCents;
  }
  return applied > 0
    ? {
        outcome: `refunded (${applied} refund${applied === 1 ? '' : 's'})`,
        payment,
        balanceChanged: true,
        credited: false,
      }
    : nothing('refunds already applied', payment);
}

/** Takes the disputed share back when a dispute opens; gives exactly that back once when it is won. */
export async function applyDispute(tx: TransactionSql, payment: Payment, dispute: DisputeView): Promise<Applied> {
  if (payment.status !== 'paid') return nothing('dispute of a payment that was not credited', payment);
  const position = await paymentPosition(tx, payment.id);
  const outcomes: string[] = [];
  if (!position.recorded.has(`dispute:${dispute.id}`)) {
    const wanted = proRataSplit(creditOf(payment), 0n, dispute.amountCents, paidCents(payment));
    if (
      await takeBack(tx, payment, position, 'dispute', dispute.id, wanted, {
        disputeCents: dispute.amountCents.toString(),
        chargeId: dispute.chargeId,
      })
    )
      outcomes.push('credit held back');
  }
  if (RESTORING_DISPUTE_STATUSES.has(dispute.status ?? '') && !position.recorded.has(`dispute_won:${dispute.id}`)) {
    const taken = await disputeTaken(tx, dispute.id);
    if (taken) {
      const result = await recordPaymentTransfer(tx, {
        payment,
        kind: 'dispute_won',
        stripeObjectId: dispute.id,
        paidNanos: taken.paidNanos,
        grantedNanos: taken.grantedNanos,
        memo: { disputeStatus: dispute.status, purchaseTransferId: position.purchaseTransferId?.toString() ?? null },
      });
      if (result.applied) outcomes.push('credit restored');
    }
  }
  return outcomes.length > 0
    ? { outcome: `dispute: ${outcomes.join(', ')}`, payment, balanceChanged: true, credited: false }
    : nothing(`dispute ${dispute.status ?? ''}: unchanged`.trim(), payment);
}
