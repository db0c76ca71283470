import type { Db } from '../../db/sql.ts';
import { walletBalance, type WalletBalance } from '../../db/queries/transfers.ts';
import { optionalString, requiredString } from '../args.ts';
import type { Command } from '../command.ts';
import { fields, money } from '../format.ts';
import { ACCOUNT_OPTIONS, accountOption } from '../resolve.ts';

export function balanceJson(balance: WalletBalance) {
  return {
    paid: money(balance.paidNanos),
    granted: money(balance.grantedNanos),
    held: money(balance.heldNanos),
    available: money(balance.availableNanos),
  };
}

/** USD text exact to the nano-dollar, so what an operator reads is what the ledger holds. */
export function balanceLines(balance: WalletBalance): (readonly [string, string])[] {
  const json = balanceJson(balance);
  return [
    ['paid', `$${json.paid.usd}`],
    ['granted', `$${json.granted.usd}`],
    ['held', `$${json.held.usd}`],
    ['available', `$${json.available.usd}`],
  ];
}

export async function accountBalance(db: Db, walletId: bigint): Promise<WalletBalance> {
  const balance = await walletBalance(db, walletId);
  if (!balance) throw new Error(`wallet ${walletId} is missing`);
  return balance;
}

export const balanceCommand: Command = {
  name: 'balance',
  summary: "show an account's paid, granted, held and available credit",
  options: {
    ...ACCOUNT_OPTIONS,
  },
  prepare: (args) => {
    const accountRef = requiredString(args, 'account');
    const tenantRef = optionalString(args, 'tenant');
    return async (session) => {
      const { account, tenant } = await accountOption(session, 'balance', accountRef, tenantRef);
      const balance = await accountBalance(session.db.sql, account.walletId);
      return {
        json: { accountId: account.id, email: account.email, tenantSlug: tenant.slug, ...balanceJson(balance) },
        text: fields([['account', `${account.email} (${tenant.slug})`], ...balanceLines(balance)]),
      };
    };
  },
};
