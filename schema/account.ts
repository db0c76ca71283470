import type { Account } from '../db/queries/accounts.ts';
import { setDisplayName } from '../db/queries/customers.ts';
import { effectiveAccountPolicy, type StoredPolicy } from '../db/queries/rate-limit-policies.ts';
import { walletBalance, type WalletBalance } from '../db/queries/transfers.ts';
import { builder } from './builder.ts';
import type { GraphqlContext } from './context.ts';
import { MoneyRef } from './money.ts';
import { boundedText, MAX_NAME_LENGTH } from './text-input.ts';

/** The account domain: who the viewer is, what they hold, and the limits that apply to them. */

export const RoleEnum = builder.enumType('Role', {
  values: { CUSTOMER: { value: 'customer' }, ADMIN: { value: 'admin' }, OPERATOR: { value: 'operator' } } as const,
});

export const StatusEnum = builder.enumType('Status', {
  values: { ACTIVE: { value: 'active' }, SUSPENDED: { value: 'suspended' } } as const,
});

export const BalanceRef = builder.objectRef<WalletBalance>('Balance').implement({
  description: 'A wallet. Available = paid + granted − held; held is reserved by requests in flight.',
  fields: (t) => ({
    available: t.field({ type: MoneyRef, resolve: (b) => b.availableNanos }),
    held: t.field({ type: MoneyRef, resolve: (b) => b.heldNanos }),
    paid: t.field({ type: MoneyRef, description: 'Credit paid for.', resolve: (b) => b.paidNanos }),
    granted: t.field({
      type: MoneyRef,
      description: 'Promotional credit, used before paid credit.',
      resolve: (b) => b.grantedNanos,
    }),
  }),
});

const SpendingLimitsRef = builder.objectRef<StoredPolicy>('SpendingLimits').implement({
  description: "The limits that apply to an account: its own policy if it has one, else its tenant's.",
  fields: (t) => ({
    appliesTo: t.string({
      description: '"account" or "tenant".',
      resolve: (p) => (p.subject.kind === 'account' ? 'account' : 'tenant'),
    }),
    requestsPerMinute: t.int({ nullable: true, resolve: (p) => p.requestsPerMinute }),
    requestsPerHour: t.int({ nullable: true, resolve: (p) => p.requestsPerHour }),
    tokensPerMinute: t.int({ nullable: true, resolve: (p) => p.tokensPerMinute }),
    concurrentRequests: t.int({ nullable: true, resolve: (p) => p.concurrentRequests }),
    spendPerDay: t.field({ type: MoneyRef, nullable: true, resolve: (p) => p.spendPerDayNanos }),
    spendPerMonth: t.field({ type: MoneyRef, nullable: true, resolve: (p) => p.spendPerMonthNanos }),
  }),
});

export async function accountBalance(ctx: GraphqlContext, account: Account): Promise<WalletBalance> {
  const balance = await walletBalance(ctx.sql, account.walletId);
  if (!balance) throw new Error(`account ${account.id} has no wallet`);
  return balance;
}

export const AccountRef = builder.objectRef<Account>('Account').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    email: t.exposeString('email'),
    displayName: t.exposeString('displayName', { nullable: true }),
    role: t.field({ type: RoleEnum, resolve: (a) => a.role }),
    status: t.field({ type: StatusEnum, resolve: (a) => a.status }),
    createdAt: t.field({ type: 'DateTime', resolve: (a) => a.createdAt }),
    balance: t.field({ type: BalanceRef, resolve: (a, _args, ctx) => accountBalance(ctx, a) }),
    limits: t.field({
      type: SpendingLimitsRef,
      nullable: true,
      resolve: async (a, _args, ctx) => (await effectiveAccountPolicy(ctx.sql, a.tenantId, a.id)) ?? null,
    }),
  }),
});

builder.mutationField('updateProfile', (t) =>
  t.withAuth({ account: true }).field({
    type: AccountRef,
    description: "Changes the signed-in person's display name (null clears it).",
    args: { displayName: t.arg.string({ required: false }) },
    resolve: async (_root, { displayName }, ctx) => {
      const name = boundedText(displayName, 'displayName', MAX_NAME_LENGTH);
      await setDisplayName(ctx.sql, ctx.viewer.account.id, name);
      return { ...ctx.viewer.account, displayName: name };
    },
  }),
);
