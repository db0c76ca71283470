import { findAutoTopUp, lastAutoTopUpAt, saveAutoTopUp, type AutoTopUpSettings } from '../db/queries/auto-top-up.ts';
import { findCreditPack } from '../db/queries/credit-packs.ts';
import { findStripeCustomer } from '../db/queries/stripe-customers.ts';
import { builder } from './builder.ts';
import { signedIn, type GraphqlContext } from './context.ts';
import { invalidInput, uuidOr404 } from './errors.ts';
import { billingDeps } from './checkout.ts';
import { CreditPackRef } from './credit-pack.ts';
import { AmountInput, amountNanos, MoneyRef } from './money.ts';
import { targetAccount } from './scope.ts';

/**
 * Auto top-up (opt-in): when an account's credit falls below its threshold, the card it saved at
 * checkout is charged off-session for the chosen pack, at most once per period. Each attempt shows
 * in the payments history as an AUTO_TOP_UP payment. Only the account itself turns it on: it
 * authorises charges to its card.
 */

const SECONDS_PER_HOUR = 3_600;
const MIN_PERIOD_HOURS = 1;
const MAX_PERIOD_HOURS = 720;
const MAX_THRESHOLD_NANOS = 1_000_000_000_000_000n;

type AutoTopUpView = { accountId: string; tenantId: string; settings: AutoTopUpSettings | undefined };

const AutoTopUpRef = builder.objectRef<AutoTopUpView>('AutoTopUp').implement({
  fields: (t) => ({
    enabled: t.boolean({ resolve: (v) => v.settings?.enabled ?? false }),
    threshold: t.field({
      type: MoneyRef,
      nullable: true,
      description: 'Top up when paid plus granted credit falls below this.',
      resolve: (v) => v.settings?.thresholdNanos ?? null,
    }),
    pack: t.field({
      type: CreditPackRef,
      nullable: true,
      resolve: async (v, _a, ctx) =>
        v.settings ? ((await findCreditPack(ctx.sql, v.tenantId, v.settings.packId)) ?? null) : null,
    }),
    periodHours: t.int({
      nullable: true,
      description: 'At most one attempt per this many hours.',
      resolve: (v) => (v.settings ? v.settings.periodSeconds / SECONDS_PER_HOUR : null),
    }),
    savedCard: t.boolean({
      description: 'Whether a card was saved at checkout (saveCard: true) to charge.',
      resolve: async (v, _a, ctx) => Boolean((await findStripeCustomer(ctx.sql, v.accountId))?.paymentMethodId),
    }),
    lastAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (v, _a, ctx) => lastAutoTopUpAt(ctx.sql, v.accountId),
    }),
  }),
});

async function view(ctx: GraphqlContext, account: { id: string; tenantId: string }): Promise<AutoTopUpView> {
  return { accountId: account.id, tenantId: account.tenantId, settings: await findAutoTopUp(ctx.sql, account.id) };
}

builder.queryField('autoTopUp', (t) =>
  t.withAuth({ signedIn: true }).field({
    type: AutoTopUpRef,
    description: 'Your auto top-up settings; an admin may name an account of the tenant.',
    args: { accountId: t.arg.id({ required: false }) },
    resolve: async (_root, args, rawCtx) => {
      const ctx = signedIn(rawCtx);
      return view(
        ctx,
        await targetAccount(
          ctx,
          args.accountId === null || args.accountId === undefined ? null : String(args.accountId),
        ),
      );
    },
  }),
);

const AutoTopUpInput = builder.inputType('AutoTopUpInput', {
  fields: (t) => ({
    enabled: t.boolean({ required: true }),
    threshold: t.field({ type: AmountInput, required: true }),
    packId: t.id({ required: true }),
    periodHours: t.int({ required: false, defaultValue: 24 }),
  }),
});

builder.mutationField('setAutoTopUp', (t) =>
  t.withAuth({ account: true }).field({
    type: AutoTopUpRef,
    args: { input: t.arg({ type: AutoTopUpInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const account = ctx.viewer.account;
      if (input.enabled) billingDeps(ctx);
      const thresholdNanos = amountNanos(input.threshold, 'threshold');
      if (thresholdNanos <= 0n || thresholdNanos > MAX_THRESHOLD_NANOS)
        throw invalidInput('threshold', 'The threshold is more than zero and at most $1,000,000.');
      const periodHours = input.periodHours ?? 24;
      if (!Number.isInteger(periodHours) || periodHours < MIN_PERIOD_HOURS || periodHours > MAX_PERIOD_HOURS) {
        throw invalidInput('periodHours', `The period is ${MIN_PERIOD_HOURS} to ${MAX_PERIOD_HOURS} hours.`);
      }
      const pack = await findCreditPack(ctx.sql, account.tenantId, uuidOr404(String(input.packId), 'Credit pack'));
      if (!pack?.active) throw invalidInput('packId', 'This credit pack is not for sale.');
      if (input.enabled && !(await findStripeCustomer(ctx.sql, account.id))?.paymentMethodId) {
        throw invalidInput('enabled', 'Save a card first: buy credit once with saveCard: true.');
      }
      await saveAutoTopUp(ctx.sql, {
        accountId: account.id,
        enabled: input.enabled,
        thresholdNanos,
        packId: pack.id,
        periodSeconds: periodHours * SECONDS_PER_HOUR,
      });
      return view(ctx, account);
    },
  }),
);
