import {
  findPayment,
  listPaymentChanges,
  listPayments,
  type Payment,
  type PaymentChange,
} from '../db/queries/payments.ts';
import type { Positioned } from '../db/queries/keyset.ts';
import { builder } from './builder.ts';
import { isAdmin, signedIn, type GraphqlContext, type SignedInContext } from './context.ts';
import { notFound, uuidOr404 } from './errors.ts';
import { MoneyRef } from './money.ts';
import { keysetConnection } from './pagination.ts';
import { accountFilter } from './scope.ts';

/**
 * Payments history: every purchase (checkout or auto top-up) with its status, its Stripe receipt,
 * and what happened to its credit since — refunds, disputes and won disputes — each with the
 * ledger transfer it made. Customers see their own; tenant admins see the tenant's.
 */

export type PaymentWithChanges = Payment & { changes: PaymentChange[] };

const PaymentKindEnum = builder.enumType('PaymentKind', {
  values: { CHECKOUT: { value: 'checkout' }, AUTO_TOP_UP: { value: 'auto_top_up' } } as const,
});

const PaymentStatusEnum = builder.enumType('PaymentStatus', {
  values: {
    OPEN: { value: 'open', description: 'Checkout started, not paid (yet).' },
    PROCESSING: { value: 'processing', description: 'Paid with a method that settles later; credited when it does.' },
    PAID: { value: 'paid', description: 'Paid and credited.' },
    FAILED: { value: 'failed', description: 'The payment failed; nothing was credited.' },
    EXPIRED: { value: 'expired', description: 'Checkout was abandoned.' },
    MISMATCH: {
      value: 'mismatch',
      description: 'Stripe reported a different amount than the price; not credited, for the operator to review.',
    },
  } as const,
});

const PaymentChangeKindEnum = builder.enumType('PaymentChangeKind', {
  values: {
    PURCHASE: { value: 'purchase' },
    REFUND: { value: 'refund' },
    DISPUTE: { value: 'dispute' },
    DISPUTE_WON: { value: 'dispute_won' },
  } as const,
});

const PaymentChangeRef = builder.objectRef<PaymentChange>('PaymentChange').implement({
  description:
    'One ledger transfer of a payment: its credit, a refund or dispute taking credit back, a won dispute giving it back.',
  fields: (t) => ({
    kind: t.field({ type: PaymentChangeKindEnum, resolve: (c) => c.kind }),
    amount: t.field({
      type: MoneyRef,
      description: "The change of the account's credit (negative for refunds and disputes).",
      resolve: (c) => c.paidNanos + c.grantedNanos,
    }),
    paid: t.field({ type: MoneyRef, resolve: (c) => c.paidNanos }),
    granted: t.field({ type: MoneyRef, resolve: (c) => c.grantedNanos }),
    stripeId: t.exposeString('stripeObjectId', {
      description: 'The Checkout Session, PaymentIntent, refund or dispute behind it.',
    }),
    transferId: t.id({ resolve: (c) => c.transferId.toString() }),
    createdAt: t.field({ type: 'DateTime', resolve: (c) => c.createdAt }),
  }),
});

export const PaymentRef = builder.objectRef<PaymentWithChanges>('Payment').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    accountId: t.exposeID('accountId'),
    kind: t.field({ type: PaymentKindEnum, resolve: (p) => p.kind }),
    status: t.field({ type: PaymentStatusEnum, resolve: (p) => p.status }),
    description: t.exposeString('description'),
    price: t.field({ type: MoneyRef, description: 'What was charged.', resolve: (p) => p.priceNanos }),
    credit: t.field({
      type: MoneyRef,
      description: 'What the payment credits when paid.',
      resolve: (p) => p.creditNanos,
    }),
    creditRemaining: t.field({
      type: MoneyRef,
      description: 'The credit this payment still accounts for after refunds and disputes.',
      resolve: (p) => p.changes.reduce((sum, c) => sum + c.paidNanos + c.grantedNanos, 0n),
    }),
    receiptUrl: t.exposeString('receiptUrl', { nullable: true, description: "Stripe's receipt for the charge." }),
    failureReason: t.exposeString('failureReason', { nullable: true }),
    checkoutSessionId: t.exposeString('checkoutSessionId', { nullable: true }),
    changes: t.field({ type: [PaymentChangeRef], resolve: (p) => p.changes }),
    createdAt: t.field({ type: 'DateTime', resolve: (p) => p.createdAt }),
    paidAt: t.field({ type: 'DateTime', nullable: true, resolve: (p) => p.paidAt }),
  }),
});

/** Payments with their changes, read in one query for a whole page. */
async function withChanges<T extends Payment>(
  ctx: GraphqlContext,
  payments: T[],
): Promise<(T & { changes: PaymentChange[] })[]> {
  const changes = await listPaymentChanges(
    ctx.sql,
    payments.map((p) => p.id),
  );
  return payments.map((payment) => ({ ...payment, changes: changes.filter((c) => c.paymentId === payment.id) }));
}

/** A payment the viewer may see: their own, or any of the tenant's for an admin; else not found. */
export async function visiblePayment(ctx: SignedInContext, payment: Payment | undefined): Promise<PaymentWithChanges> {
  const mine = ctx.viewer.kind === 'account' && payment?.accountId === ctx.viewer.account.id;
  const tenants = isAdmin(ctx.viewer) && payment?.tenantId === ctx.tenant.id;
  if (!payment || !(mine || tenants)) throw notFound('Payment');
  const [withTransfers] = await withChanges(ctx, [payment]);
  if (!withTransfers) throw notFound('Payment');
  return withTransfers;
}

const PaymentConnection = builder.connectionObject({ type: PaymentRef, name: 'PaymentConnection' });

builder.queryField('payments', (t) =>
  t.connection(
    {
      type: PaymentRef,
      description: 'Payments newest first: your own; an admin sees the whole tenant, or one account with accountId.',
      authScopes: { signedIn: true },
      args: { accountId: t.arg.id({ required: false }) },
      resolve: async (_root, args, rawCtx) => {
        const ctx = signedIn(rawCtx);
        const accountId = await accountFilter(
          ctx,
          args.accountId === null || args.accountId === undefined ? null : String(args.accountId),
        );
        return keysetConnection(args, async (page) =>
          withChanges<Positioned<Payment>>(
            ctx,
            await listPayments(ctx.sql, { tenantId: ctx.tenant.id, accountId }, page),
          ),
        );
      },
    },
    PaymentConnection,
  ),
);

builder.queryField('payment', (t) =>
  t.withAuth({ signedIn: true }).field({
    type: PaymentRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) =>
      visiblePayment(ctx, await findPayment(ctx.sql, { id: uuidOr404(String(id), 'Payment') })),
  }),
);
