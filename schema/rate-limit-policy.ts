import { findTenantAccount } from '../db/queries/customers.ts';
import { findTenantApiKey } from '../db/queries/key-management.ts';
import type { Account } from '../db/queries/accounts.ts';
import {
  deleteTenantPolicy,
  effectiveAccountPolicy,
  listTenantPolicies,
  periodSpendNanos,
  upsertPolicy,
  wholeTenantPolicy,
  type PolicyLimits,
  type PolicySubjectRef,
  type StoredPolicy,
} from '../db/queries/rate-limit-policies.ts';
import { spendPeriodAt, type SpendPeriod } from '../limits/store.ts';
import { AccountRef } from './account.ts';
import { builder } from './builder.ts';
import type { GraphqlContext, SignedInContext } from './context.ts';
import { invalidInput, notFound, uuidOr404 } from './errors.ts';
import { AmountInput, amountNanos, MoneyRef } from './money.ts';

/**
 * Tenant admin: rate-limit and spending policies: the tenant's default for each account, one
 * account's own, one key's, and the cap on the tenant as a whole (db/queries/rate-limit-policies.ts).
 * Each subject has at most one policy; setting it again replaces it. A request is held to its
 * key's policy, its account's (own or default) and the whole tenant's, the tightest deciding.
 */

const SubjectKindEnum = builder.enumType('PolicySubjectKind', {
  values: {
    TENANT: {
      value: 'tenant',
      description: "The tenant's default: applies to each account apart, unless the account has its own policy.",
    },
    WHOLE_TENANT: {
      value: 'wholeTenant',
      description: 'A cap on the tenant as a whole: the requests and spend of all its customers counted together.',
    },
    ACCOUNT: { value: 'account', description: "One account's own policy; it replaces the tenant default." },
    API_KEY: { value: 'apiKey', description: "One key's own policy; it applies on top of its account's." },
  } as const,
});

const RateLimitPolicyRef = builder.objectRef<StoredPolicy>('RateLimitPolicy').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    subjectKind: t.field({ type: SubjectKindEnum, resolve: (p) => p.subject.kind }),
    subjectId: t.id({ description: 'The tenant, account or API key id.', resolve: (p) => p.subject.id }),
    requestsPerMinute: t.exposeInt('requestsPerMinute', { nullable: true }),
    requestsPerHour: t.exposeInt('requestsPerHour', { nullable: true }),
    tokensPerMinute: t.exposeInt('tokensPerMinute', { nullable: true }),
    concurrentRequests: t.exposeInt('concurrentRequests', { nullable: true }),
    spendPerDay: t.field({ type: MoneyRef, nullable: true, resolve: (p) => p.spendPerDayNanos }),
    spendPerMonth: t.field({ type: MoneyRef, nullable: true, resolve: (p) => p.spendPerMonthNanos }),
    updatedAt: t.field({ type: 'DateTime', resolve: (p) => p.updatedAt }),
  }),
});

builder.queryField('rateLimitPolicies', (t) =>
  t.withAuth({ admin: true }).field({
    type: [RateLimitPolicyRef],
    description: 'The policies of the tenant, its accounts and their keys.',
    resolve: (_root, _args, ctx) => listTenantPolicies(ctx.sql, ctx.tenant.id),
  }),
);

const LimitsInput = builder.inputType('RateLimitInput', {
  description: 'Every limit is optional; a limit left out or null does not apply.',
  fields: (t) => ({
    requestsPerMinute: t.int({ required: false }),
    requestsPerHour: t.int({ required: false }),
    tokensPerMinute: t.int({ required: false }),
    concurrentRequests: t.int({ required: false }),
    spendPerDay: t.field({ type: AmountInput, required: false }),
    spendPerMonth: t.field({ type: AmountInput, required: false }),
  }),
});

type LimitsArgs = {
  requestsPerMinute?: number | null;
  requestsPerHour?: number | null;
  tokensPerMinute?: number | null;
  concurrentRequests?: number | null;
  spendPerDay?: { nanos?: bigint | null; usd?: string | null } | null;
  spendPerMonth?: { nanos?: bigint | null; usd?: string | null } | null;
};

function checkLimits(input: LimitsArgs): PolicyLimits {
  const count = (field: keyof LimitsArgs, value: number | null | undefined) => {
    if (value === null || value === undefined) return null;
    if (value < 1) throw invalidInput(field, 'A limit is at least 1; leave it out for no limit.');
    return value;
  };
  const money = (field: keyof LimitsArgs, value: LimitsArgs['spendPerDay']) => {
    if (value === null || value === undefined) return null;
    const nanos = amountNanos(value, field);
    if (nanos < 1n) throw invalidInput(field, 'A spending limit is more than zero; leave it out for no limit.');
    return nanos;
  };
  return {
    requestsPerMinute: count('requestsPerMinute', input.requestsPerMinute),
    requestsPerHour: count('requestsPerHour', input.requestsPerHour),
    tokensPerMinute: count('tokensPerMinute', input.tokensPerMinute),
    concurrentRequests: count('concurrentRequests', input.concurrentRequests),
    spendPerDayNanos: money('spendPerDay', input.spendPerDay),
    spendPerMonthNanos: money('spendPerMonth', input.spendPerMonth),
  };
}

/** The subject, checked to be this tenant, one of its accounts or one of its accounts' keys. */
async function scopedSubject(
  ctx: SignedInContext,
  kind: PolicySubjectRef['kind'],
  id: string | null,
): Promise<PolicySubjectRef> {
  if (kind === 'tenant' || kind === 'wholeTenant') return { kind, id: ctx.tenant.id };
  if (id === null) throw invalidInput('subjectId', 'Name the account or API key.');
  const found =
    kind === 'account'
      ? await findTenantAccount(ctx.sql, ctx.tenant.id, uuidOr404(id, 'Account'))
      : await findTenantApiKey(ctx.sql, ctx.tenant.id, uuidOr404(id, 'API key'));
  if (!found) throw notFound(kind === 'account' ? 'Account' : 'API key');
  return { kind, id: found.id };
}

builder.mutationField('setRateLimitPolicy', (t) =>
  t.withAuth({ admin: true }).field({
    type: RateLimitPolicyRef,
    args: {
      subjectKind: t.arg({ type: SubjectKindEnum, required: true }),
      subjectId: t.arg.id({
        required: false,
        description: 'The account or API key; leave out for the tenant default or the whole tenant.',
      }),
      limits: t.arg({ type: LimitsInput, required: true }),
    },
    resolve: async (_root, args, ctx) => {
      const subject = await scopedSubject(
        ctx,
        args.subjectKind,
        args.subjectId === null || args.subjectId === undefined ? null : String(args.subjectId),
      );
      return upsertPolicy(ctx.sql, subject, checkLimits(args.limits));
    },
  }),
);

builder.mutationField('deleteRateLimitPolicy', (t) =>
  t.withAuth({ admin: true }).field({
    type: 'Boolean',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      if (!(await deleteTenantPolicy(ctx.sql, ctx.tenant.id, uuidOr404(String(id), 'Rate-limit policy'))))
        throw notFound('Rate-limit policy');
      return true;
    },
  }),
);

const EffectiveLimitsRef = builder.objectRef<{ account: Account }>('EffectiveLimits').implement({
  description:
    'The limits a customer is held to besides those of its keys (each key may have its own on top), and its spend.',
  fields: (t) => ({
    account: t.field({
      type: RateLimitPolicyRef,
      nullable: true,
      description:
        "Counted for this account alone: its own policy (subjectKind ACCOUNT), else the tenant's default (TENANT).",
      resolve: ({ account }, _args, ctx) => effectiveAccountPolicy(ctx.sql, account.tenantId, account.id),
    }),
    wholeTenant: t.field({
      type: RateLimitPolicyRef,
      nullable: true,
      description: "The cap on the tenant as a whole, shared with all of the tenant's customers.",
      resolve: ({ account }, _args, ctx) => wholeTenantPolicy(ctx.sql, account.tenantId),
    }),
    spentToday: t.field({
      type: MoneyRef,
      description: 'Charged since 00:00 UTC today, from the usage log: what a day spending limit counts.',
      resolve: ({ account }, _args, ctx) => accountSpend(ctx, account, 'day'),
    }),
    spentThisMonth: t.field({
      type: MoneyRef,
      description: 'Charged since the first of this month (UTC): what a month spending limit counts.',
      resolve: ({ account }, _args, ctx) => accountSpend(ctx, account, 'month'),
    }),
  }),
});

function accountSpend(ctx: GraphqlContext, account: Account, period: SpendPeriod): Promise<bigint> {
  const { startsAt, endsAt } = spendPeriodAt(period, Date.now());
  return periodSpendNanos(ctx.sql, { kind: 'account', id: account.id }, new Date(startsAt), new Date(endsAt));
}

builder.objectField(AccountRef, 'effectiveLimits', (t) =>
  t.field({ type: EffectiveLimitsRef, resolve: (account) => ({ account }) }),
);
