import {
  listBalanceThresholds,
  replaceBalanceThresholds,
  type BalanceThreshold,
} from '../db/queries/balance-thresholds.ts';
import { inTransaction } from '../db/sql.ts';
import { AccountRef } from './account.ts';
import { builder } from './builder.ts';
import { invalidInput } from './errors.ts';
import { AmountInput, amountNanos, MoneyRef } from './money.ts';

/**
 * Low-balance alerts the customer sets: an e-mail (and a `balance.threshold_crossed` webhook event)
 * when the balance falls below an amount, once per crossing.
 */

const MAX_THRESHOLDS = 10;

const BalanceThresholdRef = builder.objectRef<BalanceThreshold>('BalanceThreshold').implement({
  fields: (t) => ({
    amount: t.field({ type: MoneyRef, resolve: (b) => b.thresholdNanos }),
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

builder.mutationField('setBalanceThresholds', (t) =>
  t.withAuth({ account: true }).field({
    type: [BalanceThresholdRef],
    description: `Replaces the signed-in account's low-balance alerts (at most ${MAX_THRESHOLDS}); an empty list removes all.`,
    args: { amounts: t.arg({ type: [AmountInput], required: true }) },
    resolve: (_root, { amounts }, ctx) => {
      if (amounts.length > MAX_THRESHOLDS) throw invalidInput('amounts', `At most ${MAX_THRESHOLDS} alerts.`);
      const nanos = [...new Set(amounts.map((amount) => amountNanos(amount, 'amounts')))];
      if (nanos.some((n) => n <= 0n)) throw invalidInput('amounts', 'An alert is a positive amount.');
      return inTransaction(ctx.sql, (tx) => replaceBalanceThresholds(tx, ctx.viewer.account.id, nanos));
    },
  }),
);
