import { adjustWallet } from '../db/queries/adjustments.ts';
import { tenantWalletId } from '../db/queries/tenants.ts';
import { walletBalance, type Funding, type WalletBalance } from '../db/queries/transfers.ts';
import { BalanceRef } from './account.ts';
import { builder } from './builder.ts';
import type { SignedInContext } from './context.ts';
import { invalidInput } from './errors.ts';
import { FundingEnum } from './ledger.ts';
import { AmountInput, amountNanos } from './money.ts';

/**
 * Credit adjustments by an admin, with a reason, as ledger transfers of kind `adjustment`. The
 * client's idempotency key makes a retry safe: the same key applies once and answers "replayed";
 * the same key with a different amount or target is refused rather than silently ignored.
 */

export const AdjustmentInput = builder.inputType('AdjustmentInput', {
  fields: (t) => ({
    amount: t.field({
      type: AmountInput,
      required: true,
      description: 'Positive adds credit, negative takes it back.',
    }),
    reason: t.string({ required: true, description: 'Shown in the ledger; 1 to 500 characters.' }),
    idempotencyKey: t.string({
      required: true,
      description: 'Any unique string per adjustment (a UUID, say); retries reuse it.',
    }),
    funding: t.field({
      type: FundingEnum,
      required: false,
      defaultValue: 'granted',
      description: 'GRANTED (default) for goodwill credit, PAID for money received outside Stripe.',
    }),
  }),
});

type AdjustmentResult = { applied: boolean; transferId: bigint; balance: WalletBalance };

export const AdjustmentResultRef = builder.objectRef<AdjustmentResult>('AdjustmentResult').implement({
  fields: (t) => ({
    applied: t.exposeBoolean('applied', {
      description: 'False when this idempotency key had already been applied: nothing changed this time.',
    }),
    transferId: t.id({ resolve: (r) => r.transferId.toString() }),
    balance: t.field({ type: BalanceRef, resolve: (r) => r.balance }),
  }),
});

type Input = {
  amount: { nanos?: bigint | null; usd?: string | null };
  reason: string;
  idempotencyKey: string;
  funding?: Funding | null;
};

/** Adjusts one wallet against a tenant's adjustment book; `subject` names the target in the memo. */
export async function applyAdjustment(
  ctx: SignedInContext,
  target: { walletId: bigint; subject: string },
  bookTenantId: string,
  input: Input,
): Promise<AdjustmentResult> {
  const amount = amountNanos(input.amount, 'amount');
  if (amount === 0n) throw invalidInput('amount', 'An adjustment cannot be zero.');
  const reason = input.reason.trim();
  if (reason.length < 1 || reason.length > 500) throw invalidInput('reason', 'A reason has 1 to 500 characters.');
  const key = input.idempotencyKey.trim();
  if (key.length < 1 || key.length > 200)
    throw invalidInput('idempotencyKey', 'An idempotency key has 1 to 200 characters.');
  const actor =
    ctx.viewer.kind === 'account' ? `account:${ctx.viewer.account.id}` : `management-token:${ctx.viewer.token.id}`;
  const memo = { reason, subject: target.subject, amountNanos: amount.toString(), by: actor };
  const outcome = await adjustWallet(ctx.sql, {
    walletId: target.walletId,
    counterWalletId: await tenantWalletId(ctx.sql, bookTenantId, 'adjustment'),
    amountNanos: amount,
    funding: input.funding ?? 'granted',
    // Scoped by the actor, so two admins (or tenants) choosing the same key never collide.
    cause: `${actor}:${key}`,
    memo,
  });
  if (outcome.status === 'insufficient_credit') {
    throw invalidInput('amount', `Only ${outcome.availableNanos} nanos of this credit are available to take back.`);
  }
  if (
    outcome.status === 'replayed' &&
    (outcome.memo.subject !== memo.subject || outcome.memo.amountNanos !== memo.amountNanos)
  ) {
    throw invalidInput('idempotencyKey', 'This idempotency key was already used for a different adjustment.');
  }
  const balance = await walletBalance(ctx.sql, target.walletId);
  if (!balance) throw new Error(`wallet ${target.walletId} vanished`);
  return { applied: outcome.status === 'applied', transferId: outcome.transferId, balance };
}
