import { deletePricingRule, listPricingRules, setPricingRule, type StoredPricingRule } from '../db/queries/pricing.ts';
import { builder } from './builder.ts';
import { invalidInput, notFound, uuidOr404 } from './errors.ts';
import { checkMarkup } from './tenant.ts';

/**
 * Tenant admin: pricing rules. A rule gives models matching a glob its own markup; the matching
 * rule with the highest priority wins (the longer pattern on a tie), else the tenant's default.
 * A tenant has few rules, so they are a plain list rather than a connection.
 */

const PricingRuleRef = builder.objectRef<StoredPricingRule>('PricingRule').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    pattern: t.exposeString('pattern', {
      description: 'A model id or glob: `*` matches any run of characters, `?` one.',
    }),
    markupBps: t.exposeInt('markupBps'),
    priority: t.exposeInt('priority'),
    createdAt: t.field({ type: 'DateTime', resolve: (r) => r.createdAt }),
  }),
});

builder.queryField('pricingRules', (t) =>
  t.withAuth({ admin: true }).field({
    type: [PricingRuleRef],
    description: "The tenant's rules, in the order they are tried.",
    resolve: (_root, _args, ctx) => listPricingRules(ctx.sql, [ctx.tenant.id]),
  }),
);

const PATTERN = /^[A-Za-z0-9/_.:*?@+-]{1,200}$/;
const MAX_PRIORITY = 1_000_000;

builder.mutationField('setPricingRule', (t) =>
  t.withAuth({ admin: true }).field({
    type: PricingRuleRef,
    description: 'Creates the rule for this pattern, or changes its markup and priority.',
    args: {
      pattern: t.arg.string({ required: true }),
      markupBps: t.arg.int({ required: true }),
      priority: t.arg.int({ required: false, defaultValue: 0 }),
    },
    resolve: (_root, args, ctx) => {
      const pattern = args.pattern.trim();
      if (!PATTERN.test(pattern))
        throw invalidInput(
          'pattern',
          'A pattern is a model id or glob (letters, digits, / _ . : - * ?), up to 200 characters.',
        );
      const priority = args.priority ?? 0;
      if (Math.abs(priority) > MAX_PRIORITY)
        throw invalidInput('priority', `Priority is between -${MAX_PRIORITY} and ${MAX_PRIORITY}.`);
      return setPricingRule(ctx.sql, ctx.tenant.id, {
        pattern,
        markupBps: checkMarkup(args.markupBps, 'markupBps'),
        priority,
      });
    },
  }),
);

builder.mutationField('deletePricingRule', (t) =>
  t.withAuth({ admin: true }).field({
    type: 'Boolean',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      if (!(await deletePricingRule(ctx.sql, ctx.tenant.id, uuidOr404(String(id), 'Pricing rule'))))
        throw notFound('Pricing rule');
      return true;
    },
  }),
);
