import { listWalletEntries, type LedgerEntry } from '../db/queries/ledger-entries.ts';
import { tenantWalletId } from '../db/queries/tenants.ts';
import { builder } from './builder.ts';
import { isAdmin, signedIn } from './context.ts';
import { forbidden, invalidInput } from './errors.ts';
import { MoneyRef } from './money.ts';
import { idConnection } from './pagination.ts';
import { targetAccount } from './scope.ts';

/** Ledger entries of a wallet, each with the transfer that caused it (request id, payment, admin adjustment). */

const TransferKindEnum = builder.enumType('TransferKind', {
  values: {
    PURCHASE: { value: 'purchase' },
    USAGE: { value: 'usage' },
    REFUND: { value: 'refund' },
    DISPUTE: { value: 'dispute' },
    DISPUTE_WON: { value: 'dispute_won' },
    ADJUSTMENT: { value: 'adjustment' },
    GRANT: { value: 'grant' },
    SUBSCRIPTION: { value: 'subscription' },
  } as const,
});

export const FundingEnum = builder.enumType('Funding', {
  description: 'Paid credit was bought; granted credit was given (promotions, adjustments) and is used first.',
  values: { PAID: { value: 'paid' }, GRANTED: { value: 'granted' } } as const,
});

export const LedgerEntryRef = builder.objectRef<LedgerEntry>('LedgerEntry').implement({
  fields: (t) => ({
    id: t.id({ resolve: (e) => e.id.toString() }),
    transferId: t.id({ resolve: (e) => e.transferId.toString() }),
    kind: t.field({ type: TransferKindEnum, resolve: (e) => e.kind }),
    cause: t.exposeString('cause', {
      description:
        'What caused it: the request id for usage, the payment for a purchase, the admin request for an adjustment.',
    }),
    reason: t.string({
      nullable: true,
      description: "The admin's reason, for adjustments.",
      resolve: (e) => (typeof e.memo.reason === 'string' ? e.memo.reason : null),
    }),
    funding: t.field({ type: FundingEnum, resolve: (e) => e.funding }),
    amount: t.field({
      type: MoneyRef,
      description: 'Positive credits the wallet, negative debits it.',
      resolve: (e) => e.amountNanos,
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (e) => e.createdAt }),
  }),
});

const LedgerBookEnum = builder.enumType('LedgerBook', {
  values: {
    ACCOUNT: { value: 'account', description: "An account's credit." },
    WHOLESALE: { value: 'wholesale', description: "A reseller tenant's prepaid credit at its parent (admins)." },
  } as const,
});

const LedgerConnection = builder.connectionObject({ type: LedgerEntryRef, name: 'LedgerEntryConnection' });

builder.queryField('ledgerEntries', (t) =>
  t.connection(
    {
      type: LedgerEntryRef,
      description:
        'Entries of one wallet, newest first: your account by default; admins may name an account of the tenant or the wholesale book.',
      authScopes: { signedIn: true },
      args: {
        book: t.arg({ type: LedgerBookEnum, required: false, defaultValue: 'account' }),
        accountId: t.arg.id({ required: false }),
        kinds: t.arg({ type: [TransferKindEnum], required: false }),
      },
      resolve: async (_root, args, rawCtx) => {
        const ctx = signedIn(rawCtx);
        let walletId: bigint;
        if (args.book === 'wholesale') {
          if (!isAdmin(ctx.viewer)) throw forbidden('Only admins see the wholesale book.');
          if (ctx.tenant.parentId === null)
            throw invalidInput('book', 'The root tenant buys from the upstream directly and has no wholesale book.');
          walletId = await tenantWalletId(ctx.sql, ctx.tenant.id, 'reseller');
        } else {
          walletId = (
            await targetAccount(
              ctx,
              args.accountId === null || args.accountId === undefined ? null : String(args.accountId),
            )
          ).walletId;
        }
        return idConnection(args, (page) => listWalletEntries(ctx.sql, walletId, args.kinds ?? null, page));
      },
    },
    LedgerConnection,
  ),
);
