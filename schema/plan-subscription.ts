import { centsToNanos } from '../billing/amounts.ts';
import { changePlan, setPlanCancellation, startSubscription } from '../billing/subscriptions.ts';
import { listPlanInvoices, type PlanInvoice } from '../db/queries/plan-invoices.ts';
import { currentSubscription, type PlanSubscription } from '../db/queries/plan-subscriptions.ts';
import { findPlan } from '../db/queries/plans.ts';
import { builder } from './builder.ts';
import { signedIn, type AccountContext } from './context.ts';
import { invalidInput } from './errors.ts';
import { billingDeps, withStripe } from './checkout.ts';
import { MoneyRef } from './money.ts';
import { PlanRef } from './plan.ts';
import { targetAccount } from './scope.ts';

/**
 * Subscribing to a monthly plan: a customer starts Stripe Checkout in subscription mode, then sees
 * the subscription, its invoices (each paid one credited once, failed ones with what to do), and
 * cancels it at the period's end or changes plan from the next period. Only the account itself
 * subscribes, cancels or changes: these act on its card.
 */

const DEFAULT_INVOICES = 12;
const MAX_INVOICES = 100;

const SubscriptionStatusEnum = builder.enumType('PlanSubscriptionStatus', {
  values: {
    OPEN: { value: 'open', description: 'Checkout started, not completed (yet).' },
    EXPIRED: { value: 'expired', description: 'Checkout was abandoned.' },
    INCOMPLETE: { value: 'incomplete', description: 'Subscribed; the first payment is not confirmed yet.' },
    ACTIVE: { value: 'active', description: 'Paid up; each paid month credits the plan.' },
    PAST_DUE: {
      value: 'past_due',
      description: 'A renewal payment failed; no credit until it is paid. Stripe retries it.',
    },
    CANCELED: { value: 'canceled', description: 'Ended; nothing more is charged or credited.' },
  } as const,
});

const InvoiceStatusEnum = builder.enumType('PlanInvoiceStatus', {
  values: {
    PAID: { value: 'paid', description: 'Paid and credited.' },
    FAILED: { value: 'failed', description: 'The payment failed; nothing was credited.' },
    MISMATCH: {
      value: 'mismatch',
      description: 'Stripe reported less than the price; not credited, for the operator to review.',
    },
    ENDED: {
      value: 'ended',
      description: 'Paid after the subscription had ended; not credited, for the operator to refund.',
    },
  } as const,
});

const PlanInvoiceRef = builder.objectRef<PlanInvoice>('PlanInvoice').implement({
  fields: (t) => ({
    invoiceId: t.exposeString('invoiceId', {
      description: "Stripe's invoice id: the cause of the credit's ledger transfer.",
    }),
    status: t.field({ type: InvoiceStatusEnum, resolve: (i) => i.status }),
    amountPaid: t.field({
      type: MoneyRef,
      nullable: true,
      resolve: (i) => (i.amountPaidCents === null ? null : centsToNanos(i.amountPaidCents)),
    }),
    credit: t.field({ type: MoneyRef, description: 'What this invoice credited.', resolve: (i) => i.creditNanos }),
    unusedRemoved: t.field({
      type: MoneyRef,
      description: "The last month's unused plan credit this renewal removed (rollover off).",
      resolve: (i) => i.unusedNanos,
    }),
    failureReason: t.exposeString('failureReason', { nullable: true }),
    createdAt: t.field({ type: 'DateTime', resolve: (i) => i.createdAt }),
  }),
});

const PlanSubscriptionRef = builder.objectRef<PlanSubscription>('PlanSubscription').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    accountId: t.exposeID('accountId'),
    plan: t.field({
      type: PlanRef,
      description: 'The plan billed from the next renewal (a change applies from then).',
      resolve: async (s, _a, ctx) => {
        const plan = await findPlan(ctx.sql, s.tenantId, s.planId);
        if (!plan) throw new Error(`subscription ${s.id} lost its plan`);
        return plan;
      },
    }),
    status: t.field({ type: SubscriptionStatusEnum, resolve: (s) => s.status }),
    cancelAtPeriodEnd: t.exposeBoolean('cancelAtPeriodEnd', {
      description: 'Cancelled: it ends at currentPeriodEnd, keeping the credit already paid for.',
    }),
    currentPeriodEnd: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.currentPeriodEnd }),
    endedAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.endedAt }),
    paymentFailure: t.string({
      nullable: true,
      description: 'When the latest invoice failed: what happened and what to do. Null once it is paid.',
      resolve: async (s, _a, ctx) => {
        const [latest] = await listPlanInvoices(ctx.sql, s.id, 1);
        return latest?.status === 'failed' ? latest.failureReason : null;
      },
    }),
    invoices: t.field({
      type: [PlanInvoiceRef],
      description: 'Newest first.',
      args: { first: t.arg.int({ required: false, defaultValue: DEFAULT_INVOICES }) },
      resolve: (s, args, ctx) => {
        const first = args.first ?? DEFAULT_INVOICES;
        if (first < 1 || first > MAX_INVOICES) throw invalidInput('first', `Ask for 1 to ${MAX_INVOICES} invoices.`);
        return listPlanInvoices(ctx.sql, s.id, first);
      },
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (s) => s.createdAt }),
  }),
});

builder.queryField('planSubscription', (t) =>
  t.withAuth({ signedIn: true }).field({
    type: PlanSubscriptionRef,
    nullable: true,
    description:
      'Your monthly plan: the live subscription, else the last one that ended; null if you never had one. An admin may name an account.',
    args: { accountId: t.arg.id({ required: false }) },
    resolve: async (_root, args, rawCtx) => {
      const ctx = signedIn(rawCtx);
      const account = await targetAccount(
        ctx,
        args.accountId === null || args.accountId === undefined ? null : String(args.accountId),
      );
      return (await currentSubscription(ctx.sql, account.id)) ?? null;
    },
  }),
);

const PlanCheckoutRef = builder.objectRef<{ url: string; subscription: PlanSubscription }>('PlanCheckout').implement({
  fields: (t) => ({
    url: t.exposeString('url', { description: "Stripe's hosted page: send the customer there to subscribe." }),
    sessionId: t.string({ resolve: (c) => c.subscription.checkoutSessionId ?? '' }),
    subscription: t.field({ type: PlanSubscriptionRef, resolve: (c) => c.subscription }),
  }),
});

const onAccount = <T>(ctx: AccountContext, work: (deps: ReturnType<typeof billingDeps>) => Promise<T>): Promise<T> => {
  const deps = billingDeps(ctx);
  return withStripe(deps, ctx.viewer.account.id, () => work(deps));
};

builder.mutationField('subscribeToPlan', (t) =>
  t.withAuth({ account: true }).field({
    type: PlanCheckoutRef,
    description: 'Starts a monthly plan: returns the Stripe Checkout URL. Credit arrives with each paid invoice.',
    args: { planId: t.arg.id({ required: true }) },
    resolve: (_root, { planId }, ctx) =>
      onAccount(ctx, (deps) =>
        startSubscription(deps, {
          account: ctx.viewer.account,
          planId: String(planId),
          portalUrl: ctx.config.portalUrl,
        }),
      ),
  }),
);

builder.mutationField('cancelPlan', (t) =>
  t.withAuth({ account: true }).field({
    type: PlanSubscriptionRef,
    description:
      'Cancels your plan at the end of the paid month; that month keeps its credit, nothing more is charged.',
    resolve: (_root, _args, ctx) => onAccount(ctx, (deps) => setPlanCancellation(deps, ctx.viewer.account, true)),
  }),
);

builder.mutationField('resumePlan', (t) =>
  t.withAuth({ account: true }).field({
    type: PlanSubscriptionRef,
    description: 'Takes back a cancellation before the month ends: the plan renews as before.',
    resolve: (_root, _args, ctx) => onAccount(ctx, (deps) => setPlanCancellation(deps, ctx.viewer.account, false)),
  }),
);

builder.mutationField('changePlan', (t) =>
  t.withAuth({ account: true }).field({
    type: PlanSubscriptionRef,
    description:
      'Moves your subscription to another plan from the next renewal, without proration: this month keeps its credit; the next invoice charges and credits the new plan.',
    args: { planId: t.arg.id({ required: true }) },
    resolve: (_root, { planId }, ctx) => onAccount(ctx, (deps) => changePlan(deps, ctx.viewer.account, String(planId))),
  }),
);
