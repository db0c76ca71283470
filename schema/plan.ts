import { splitCredit } from '../billing/amounts.ts';
import {
  createPlan,
  findPlan,
  listPlans,
  planCreditRollover,
  setPlanCreditRollover,
  updatePlan,
  type Plan,
} from '../db/queries/plans.ts';
import { builder } from './builder.ts';
import { isAdmin } from './context.ts';
import { forbidden, invalidInput, isUniqueViolation, notFound, uuidOr404 } from './errors.ts';
import { packFields } from './credit-pack.ts';
import { AmountInput, MoneyRef } from './money.ts';

/**
 * Monthly plans, the catalog side: what a tenant sells by subscription. Anyone sees the tenant's
 * active plans; tenant admins create, change and archive them, and choose whether unused plan
 * credit rolls over. A changed plan applies to new subscriptions and plan changes; subscribers
 * keep the Stripe Price they pay until they change plan. Subscribing is in plan-subscription.ts.
 */

export const PlanRef = builder.objectRef<Plan>('Plan').implement({
  description:
    'Pay `price` each month, receive `credit` each paid month. Credit up to the price is paid credit; anything above it is a bonus (granted).',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    price: t.field({ type: MoneyRef, description: 'Charged every month.', resolve: (p) => p.priceNanos }),
    credit: t.field({ type: MoneyRef, description: 'Credited for every paid month.', resolve: (p) => p.creditNanos }),
    bonus: t.field({ type: MoneyRef, resolve: (p) => splitCredit(p.priceNanos, p.creditNanos).grantedNanos }),
    active: t.exposeBoolean('active', { description: 'False once archived: no longer sold; subscribers keep it.' }),
    sortOrder: t.exposeInt('sortOrder'),
  }),
});

builder.queryField('plans', (t) =>
  t.field({
    type: [PlanRef],
    description: "The tenant's monthly plans in display order; archived ones too for an admin who asks.",
    args: { includeArchived: t.arg.boolean({ required: false, defaultValue: false }) },
    resolve: (_root, args, ctx) => {
      if (args.includeArchived && !isAdmin(ctx.viewer)) throw forbidden('Only admins see archived plans.');
      return listPlans(ctx.sql, ctx.tenant.id, args.includeArchived ?? false);
    },
  }),
);

const PlanInput = builder.inputType('PlanInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    price: t.field({
      type: AmountInput,
      required: true,
      description: 'Charged every month: whole cents, from $0.50 to $100,000.',
    }),
    credit: t.field({ type: AmountInput, required: true, description: 'Credited for every paid month.' }),
    active: t.boolean({ required: false, defaultValue: true }),
    sortOrder: t.int({ required: false, defaultValue: 0 }),
  }),
});

async function uniqueName<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error, 'plans_tenant_id_name_key'))
      throw invalidInput('name', 'The tenant already has a plan with this name.');
    throw error;
  }
}

builder.mutationField('createPlan', (t) =>
  t.withAuth({ admin: true }).field({
    type: PlanRef,
    args: { input: t.arg({ type: PlanInput, required: true }) },
    resolve: (_root, { input }, ctx) => uniqueName(() => createPlan(ctx.sql, ctx.tenant.id, packFields(input))),
  }),
);

builder.mutationField('updatePlan', (t) =>
  t.withAuth({ admin: true }).field({
    type: PlanRef,
    description:
      'Changes a plan for new subscriptions and plan changes; current subscribers keep what they pay until they change plan.',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: PlanInput, required: true }) },
    resolve: async (_root, { id, input }, ctx) => {
      const plan = await uniqueName(() =>
        updatePlan(ctx.sql, ctx.tenant.id, uuidOr404(String(id), 'Plan'), packFields(input)),
      );
      if (!plan) throw notFound('Plan');
      return plan;
    },
  }),
);

builder.mutationField('archivePlan', (t) =>
  t.withAuth({ admin: true }).field({
    type: PlanRef,
    description:
      'Stops selling a plan; its subscribers keep it until they change or cancel. updatePlan with active: true sells it again.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      const planId = uuidOr404(String(id), 'Plan');
      const plan = await findPlan(ctx.sql, ctx.tenant.id, planId);
      if (!plan) throw notFound('Plan');
      const archived = await updatePlan(ctx.sql, ctx.tenant.id, planId, { ...plan, active: false });
      if (!archived) throw notFound('Plan');
      return archived;
    },
  }),
);

builder.queryField('planCreditRollover', (t) =>
  t.boolean({
    description:
      "Whether unused plan credit carries over to the next month (the default). When it does not, a renewal removes what is left of the last month's plan credit, never credit bought with packs.",
    resolve: (_root, _args, ctx) => planCreditRollover(ctx.sql, ctx.tenant.id),
  }),
);

builder.mutationField('setPlanCreditRollover', (t) =>
  t.withAuth({ admin: true }).boolean({
    args: { rollover: t.arg.boolean({ required: true }) },
    resolve: async (_root, { rollover }, ctx) => {
      await setPlanCreditRollover(ctx.sql, ctx.tenant.id, rollover);
      return rollover;
    },
  }),
);
