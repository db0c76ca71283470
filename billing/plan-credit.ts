import { lockWallets } from '../db/queries/holds.ts';
import {
  findPlanInvoice,
  lastCreditedInvoice,
  recordPaidInvoice,
  recordUnpaidInvoice,
  usageSince,
} from '../db/queries/plan-invoices.ts';
import { lockSubscription, linkStripeSubscription, type PlanSubscription } from '../db/queries/plan-subscriptions.ts';
import { planCreditRollover, planPricesByIds, type PlanPrice } from '../db/queries/plans.ts';
import { customerWalletId } from '../db/queries/payment-ledger.ts';
import { tenantWalletId } from '../db/queries/tenants.ts';
import { recordTransfer, walletBalance, type TransferResult } from '../db/queries/transfers.ts';
import type { TransactionSql } from '../db/sql.ts';
import { noticePaymentFailed } from '../notify/payment-notices.ts';
import { coverage, splitCredit } from './amounts.ts';
import { nothing, type Applied } from './credit.ts';
import type { InvoiceView, SubscriptionView } from './subscription-objects.ts';

/**
 * A paid plan invoice credits the plan's credit exactly once: its transfer (kind `subscription`)
 * names the invoice id as its cause, and the subscription's row lock orders concurrent deliveries.
 * With rollover off, the same transaction first removes what is left of the previous period's
 * plan credit (cause `<invoice id>:unused`). Plan credit counts as spent before any other credit,
 * since it is the credit that can expire; the removal is bounded by the available balance, so it
 * never takes credit bought with packs and never makes a balance negative.
 */

/** The subscription an event is about, locked, and linked to its Stripe subscription when it was not yet. */
export async function lockEventSubscription(
  tx: TransactionSql,
  stripeSubscriptionId: string | null,
  rowId: string | null,
): Promise<PlanSubscription | undefined> {
  const byStripe = stripeSubscriptionId ? await lockSubscription(tx, { stripeSubscriptionId }) : undefined;
  if (byStripe) return byStripe;
  const byRow = rowId ? await lockSubscription(tx, { id: rowId }) : undefined;
  if (!byRow || !stripeSubscriptionId) return byRow;
  if (byRow.stripeSubscriptionId !== null && byRow.stripeSubscriptionId !== stripeSubscriptionId) return undefined;
  await linkStripeSubscription(tx, byRow.id, stripeSubscriptionId);
  return { ...byRow, stripeSubscriptionId, status: byRow.status === 'open' ? 'incomplete' : byRow.status };
}

type Books = { customer: bigint; clearing: bigint; promotion: bigint; revenue: bigint };

async function lockBooks(tx: TransactionSql, subscription: PlanSubscription): Promise<Books> {
  const [customer, clearing, promotion, revenue] = await Promise.all([
    customerWalletId(tx, subscription.accountId),
    tenantWalletId(tx, subscription.tenantId, 'clearing'),
    tenantWalletId(tx, subscription.tenantId, 'promotion'),
    tenantWalletId(tx, subscription.tenantId, 'revenue'),
  ]);
  // Every wallet of both transfers, locked once in the one lock order, before the balance is read.
  await lockWallets(tx, [customer, clearing, promotion, revenue]);
  return { customer, clearing, promotion, revenue };
}

const least = (a: bigint, b: bigint) => (a < b ? a : b);

/** Removes what is left of the last period's plan credit: unused expired paid credit is the tenant's revenue, unused bonus goes back to promotion. */
async function removeUnused(
  tx: TransactionSql,
  subscription: PlanSubscription,
  books: Books,
  invoiceId: string,
): Promise<{ transfer: TransferResult | null; nanos: bigint }> {
  const previous = await lastCreditedInvoice(tx, subscription.id);
  if (!previous?.creditTransferId) return { transfer: null, nanos: 0n };
  const left = previous.creditNanos - (await usageSince(tx, books.customer, previous.creditTransferId));
  const balance = await walletBalance(tx, books.customer);
  if (!balance) throw new Error(`wallet ${books.customer} vanished`);
  const nanos = least(left, balance.availableNanos);
  if (nanos <= 0n) return { transfer: null, nanos: 0n };
  const grantedNanos = least(nanos, balance.grantedNanos > 0n ? balance.grantedNanos : 0n);
  const paidNanos = nanos - grantedNanos;
  const transfer = await recordTransfer(tx, {
    kind: 'subscription',
    cause: `${invoiceId}:unused`,
    memo: {
      subscriptionId: subscription.id,
      invoiceId,
      unusedOf: previous.invoiceId,
      reason: 'plan credit does not roll over',
    },
    entries: [
      { walletId: books.customer, funding: 'paid', amountNanos: -paidNanos },
      { walletId: books.revenue, funding: 'paid', amountNanos: paidNanos },
      { walletId: books.customer, funding: 'granted', amountNanos: -grantedNanos },
      { walletId: books.promotion, funding: 'granted', amountNanos: grantedNanos },
    ],
  });
  return { transfer, nanos };
}

/** The plan version the invoice bills: from its line's Stripe Price, else the subscription's current one. */
async function billedVersion(
  tx: TransactionSql,
  invoice: InvoiceView,
  subscription: PlanSubscription,
): Promise<PlanPrice | undefined> {
  const ids =
    invoice.priceIds.length > 0 ? invoice.priceIds : subscription.stripePriceId ? [subscription.stripePriceId] : [];
  const [version] = await planPricesByIds(tx, ids);
  if (version || !subscription.stripePriceId) return version;
  return (await planPricesByIds(tx, [subscription.stripePriceId]))[0];
}

function endedBeforePayment(
  invoice: InvoiceView,
  subscription: PlanSubscription,
  stripeSubscription: SubscriptionView | null,
): boolean {
  const endedAt = stripeSubscription?.endedAt ?? subscription.endedAt;
  if (!endedAt) return false;
  return invoice.paidAt === null || invoice.paidAt.getTime() >= endedAt.getTime();
}

/** `invoice.paid`: credits the plan once, unless the amount is short or the subscription had already ended. */
export async function applyPaidInvoice(
  tx: TransactionSql,
  invoice: InvoiceView,
  stripeSubscription: SubscriptionView | null,
): Promise<Applied> {
  const subscription = await lockEventSubscription(
    tx,
    invoice.stripeSubscriptionId,
    invoice.rowId ?? stripeSubscription?.rowId ?? null,
  );
  if (!subscription) return nothing('not a Tollgate subscription: ignored');
  if ((await findPlanInvoice(tx, invoice.id))?.status === 'paid') return nothing('already credited');
  const unpaid = (status: 'mismatch' | 'ended', reason: string) =>
    recordUnpaidInvoice(tx, {
      invoiceId: invoice.id,
      subscriptionId: subscription.id,
      status,
      amountPaidCents: invoice.amountPaidCents,
      reason,
    });
  if (endedBeforePayment(invoice, subscription, stripeSubscription)) {
    await unpaid('ended', 'Paid after the subscription ended: not credited; refund it in Stripe.');
    return nothing('subscription ended: not credited');
  }
  const version = await billedVersion(tx, invoice, subscription);
  if (!version) throw new Error(`subscription ${subscription.id} has no plan version`);
  const covered = coverage(invoice.currency, invoice.amountPaidCents, version.priceNanos);
  if ('shortfall' in covered) {
    await unpaid('mismatch', covered.shortfall);
    return nothing('amount mismatch: not credited');
  }
  const paid = covered.paidCents;
  const books = await lockBooks(tx, subscription);
  const rollover = await planCreditRollover(tx, subscription.tenantId);
  const unused = rollover ? { transfer: null, nanos: 0n } : await removeUnused(tx, subscription, books, invoice.id);
  const split = splitCredit(version.priceNanos, version.creditNanos);
  const credit = await recordTransfer(tx, {
    kind: 'subscription',
    cause: invoice.id,
    memo: {
      subscriptionId: subscription.id,
      planId: version.planId,
      stripePriceId: version.stripePriceId,
      amountPaidCents: paid.toString(),
    },
    entries: [
      { walletId: books.customer, funding: 'paid', amountNanos: split.paidNanos },
      { walletId: books.clearing, funding: 'paid', amountNanos: -split.paidNanos },
      { walletId: books.customer, funding: 'granted', amountNanos: split.grantedNanos },
      { walletId: books.promotion, funding: 'granted', amountNanos: -split.grantedNanos },
    ],
  });
  if (!credit.applied) return nothing('already credited');
  await recordPaidInvoice(tx, {
    invoiceId: invoice.id,
    subscriptionId: subscription.id,
    amountPaidCents: paid,
    creditTransferId: credit.transferId,
    creditNanos: version.creditNanos,
    unusedTransferId: unused.transfer?.transferId ?? null,
    unusedNanos: unused.nanos,
  });
  await tx`update plan_subscriptions set status = 'active', updated_at = now() where id = ${subscription.id}::uuid and status in ('incomplete', 'past_due')`;
  return {
    outcome: unused.nanos > 0n ? 'credited; unused plan credit removed' : 'credited',
    payment: null,
    balanceChanged: true,
    credited: true,
    accountId: subscription.accountId,
  };
}

/** `invoice.payment_failed`: no credit; the failure is kept for the portal (a paid invoice stays paid). */
export async function applyFailedInvoice(
  tx: TransactionSql,
  invoice: InvoiceView,
  rowId: string | null,
): Promise<Applied> {
  const subscription = await lockEventSubscription(tx, invoice.stripeSubscriptionId, invoice.rowId ?? rowId);
  if (!subscription) return nothing('not a Tollgate subscription: ignored');
  if ((await findPlanInvoice(tx, invoice.id))?.status === 'paid') return nothing('already paid: unchanged');
  const retry = invoice.nextAttemptAt
    ? ` Stripe will try again on ${invoice.nextAttemptAt.toISOString().slice(0, 10)}.`
    : '';
  const reason = `The payment for your plan failed; no credit was added.${retry} Update your card to keep your plan.`;
  await recordUnpaidInvoice(tx, {
    invoiceId: invoice.id,
    subscriptionId: subscription.id,
    status: 'failed',
    amountPaidCents: invoice.amountPaidCents,
    reason,
  });
  await tx`update plan_subscriptions set status = 'past_due', updated_at = now() where id = ${subscription.id}::uuid and status = 'active'`;
  await noticePaymentFailed(tx, {
    accountId: subscription.accountId,
    cause: `invoice:${invoice.id}:${invoice.attemptCount ?? 0n}`,
    kind: 'renewal',
    what: 'The renewal of your monthly plan',
    reason: `the card was not charged.${retry} Update your card to keep your plan.`,
    invoiceId: invoice.id,
  });
  return { ...nothing('payment failed: not credited'), accountId: subscription.accountId };
}
