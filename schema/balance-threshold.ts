import {
  listBalanceThresholds,
  replaceBalanceThresholds,
  type BalanceThreshold,
  type ThresholdSetting,
} from '../db/queries/balance-thresholds.ts';
import { inTransaction } from '../db/sql.ts';
import { AccountRef } from './account.ts';
import { builder } from './builder.ts';
import { invalidInput } from './errors.ts';
import { AmountInput, amountNanos, MoneyRef } from './money.ts';

/**
 * Low-balance alerts the customer sets: an e-mail (and a `balance.threshold_crossed` webhook event)
 * when the balance falls below an amount, or below a share of the last top-up, once per crossing.
 */

const MAX_THRESHOLDS = 10;
/** A share is in basis points of the last top-up's credit: 1 (0.01%) to 10000 (all of it). */
const MAX_SHARE_BPS = 10_000;

const BalanceThresholdRef = builder.objectRef<BalanceThreshold>('BalanceThreshold').implement({
  fields: (t) => ({
    amount: t.field({
      type: MoneyRef,
      nullable: true,
      description:
        'The balance it fires below. For a share, that share of the last top-up (rounded down); ' +
        'null before any top-up.',
      resolve: (b) => b.thresholdNanos,
    }),
    shareBps: t.int({
      nullable: true,
      description: 'Set as a share of the last top-up (a paid checkout or auto top-up), in basis points; else null.',
      resolve: (b) => b.shareBps,
    }),
    armed: t.exposeBoolean('armed', {
      description: 'True while the balance is at or above it: the next fall below it sends an alert.',
    }),
  }),
});

builder.objectField(AccountRef, 'balanceThresholds', (t) =>
  t.field({
    type: [BalanceThresholdRef],
    description: 'The low-balance alerts of the account, highest first.',
    resolve: (account, _args, ctx) => listBalanceThresholds(ctx.sql, account.id),
  }),
);

function settingsOf(
  amounts: readonly { usd?: string | null; nanos?: bigint | null }[],
  shares: readonly number[],
): ThresholdSetting[] {
  if (amounts.length + shares.length > MAX_THRESHOLDS)
    throw invalidInput('amounts', `At most ${MAX_THRESHOLDS} alerts, amounts and shares together.`);
  const nanos = [...new Set(amounts.map((amount) => amountNanos(amount, 'amounts')))];
  if (nanos.some((n) => n <= 0n)) throw invalidInput('amounts', 'An alert is a positive amount.');
  if (shares.some((s) => !Number.isInteger(s) || s < 1 || s > MAX_SHARE_BPS))
    throw invalidInput('sharesBps', `A share is between 1 and ${MAX_SHARE_BPS} basis points of the last top-up.`);
  return [...nanos.map((amountNanos) => ({ amountNanos })), ...[...new Set(shares)].map((shareBps) => ({ shareBps }))];
}

builder.mutationField('setBalanceThresholds', (t) =>
  t.withAuth({ account: true }).field({
    type: [BalanceThresholdRef],
    description:
      `Replaces the signed-in account's low-balance alerts (at most ${MAX_THRESHOLDS}): amounts, and shares of ` +
      'the last top-up in basis points (2000 = 20%); empty lists remove all.',
    args: {
      amounts: t.arg({ type: [AmountInput], required: true }),
      sharesBps: t.arg.intList({ required: false }),
    },
    resolve: (_root, { amounts, sharesBps }, ctx) => {
      const settings = settingsOf(amounts, sharesBps ?? []);
      return inTransaction(ctx.sql, (tx) => replaceBalanceThresholds(tx, ctx.viewer.account.id, settings));
    },
  }),
);
