import { createAccount, type Role } from '../db/queries/accounts.ts';
import { findTenantAccount, listTenantAccounts, setAccountStatus } from '../db/queries/customers.ts';
import { AccountRef, RoleEnum, StatusEnum } from './account.ts';
import { AdjustmentInput, AdjustmentResultRef, applyAdjustment } from './adjustment.ts';
import { builder } from './builder.ts';
import { signedIn } from './context.ts';
import { forbidden, invalidInput, isUniqueViolation, notFound, uuidOr404 } from './errors.ts';
import { keysetConnection } from './pagination.ts';
import { boundedText, MAX_NAME_LENGTH, MAX_SEARCH_LENGTH } from './text-input.ts';

/** Tenant admin: the accounts of the tenant — list and search, look up, create, suspend and reactivate. */

const AccountConnection = builder.connectionObject({ type: AccountRef, name: 'AccountConnection' });

builder.queryField('customers', (t) =>
  t.connection(
    {
      type: AccountRef,
      description: "The tenant's accounts, newest first.",
      authScopes: { admin: true },
      args: {
        search: t.arg.string({ required: false, description: 'Part of the e-mail or display name, case-insensitive.' }),
        status: t.arg({ type: StatusEnum, required: false }),
        role: t.arg({ type: RoleEnum, required: false }),
      },
      resolve: (_root, args, rawCtx) => {
        const ctx = signedIn(rawCtx);
        const filter = {
          search: boundedText(args.search, 'search', MAX_SEARCH_LENGTH),
          status: args.status ?? null,
          role: args.role ?? null,
        };
        return keysetConnection(args, (page) => listTenantAccounts(ctx.sql, ctx.tenant.id, filter, page));
      },
    },
    AccountConnection,
  ),
);

builder.queryField('customer', (t) =>
  t.withAuth({ admin: true }).field({
    type: AccountRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      const account = await findTenantAccount(ctx.sql, ctx.tenant.id, uuidOr404(String(id), 'Account'));
      if (!account) throw notFound('Account');
      return account;
    },
  }),
);

const EMAIL = /^[^@\s]{1,200}@[^@\s]{1,200}$/;

builder.mutationField('createCustomer', (t) =>
  t.withAuth({ admin: true }).field({
    type: AccountRef,
    description:
      'Creates an account in the tenant. Without a password it can only sign in through Clerk, or be used through API keys an admin creates for it.',
    args: {
      email: t.arg.string({ required: true }),
      displayName: t.arg.string({ required: false }),
      password: t.arg.string({ required: false }),
      role: t.arg({ type: RoleEnum, required: false, defaultValue: 'customer' }),
    },
    resolve: async (_root, args, ctx) => {
      const email = args.email.trim();
      if (!EMAIL.test(email)) throw invalidInput('email', 'Not an e-mail address.');
      const role: Role = args.role ?? 'customer';
      if (role === 'operator') throw forbidden('Operators are made with the tollgate CLI, not through the API.');
      if (args.password && (args.password.length < 8 || args.password.length > 200))
        throw invalidInput('password', 'A password has 8 to 200 characters.');
      const passwordHash = args.password ? await Bun.password.hash(args.password, { algorithm: 'argon2id' }) : null;
      try {
        return await createAccount(ctx.sql, {
          tenantId: ctx.tenant.id,
          email,
          role,
          passwordHash,
          displayName: boundedText(args.displayName, 'displayName', MAX_NAME_LENGTH),
        });
      } catch (error) {
        if (isUniqueViolation(error, 'accounts_tenant_email'))
          throw invalidInput('email', 'An account with this e-mail already exists.');
        throw error;
      }
    },
  }),
);

builder.mutationField('setCustomerStatus', (t) =>
  t.withAuth({ admin: true }).field({
    type: AccountRef,
    description: 'Suspends an account (its keys and sessions stop working) or reactivates it.',
    args: { id: t.arg.id({ required: true }), status: t.arg({ type: StatusEnum, required: true }) },
    resolve: async (_root, { id, status }, ctx) => {
      const accountId = uuidOr404(String(id), 'Account');
      if (ctx.viewer.kind === 'account' && ctx.viewer.account.id === accountId)
        throw forbidden('You cannot change the status of your own account.');
      const target = await findTenantAccount(ctx.sql, ctx.tenant.id, accountId);
      if (!target) throw notFound('Account');
      const viewerIsOperator = ctx.viewer.kind === 'account' && ctx.viewer.account.role === 'operator';
      if (target.role === 'operator' && !viewerIsOperator)
        throw forbidden('Only an operator can change the status of an operator.');
      return (await setAccountStatus(ctx.sql, ctx.tenant.id, accountId, status)) ?? target;
    },
  }),
);

builder.mutationField('adjustCredit', (t) =>
  t.withAuth({ admin: true }).field({
    type: AdjustmentResultRef,
    description: 'Adds credit to an account of the tenant, or takes it back, with a reason recorded in the ledger.',
    args: { accountId: t.arg.id({ required: true }), input: t.arg({ type: AdjustmentInput, required: true }) },
    resolve: async (_root, { accountId, input }, ctx) => {
      const account = await findTenantAccount(ctx.sql, ctx.tenant.id, uuidOr404(String(accountId), 'Account'));
      if (!account) throw notFound('Account');
      const result = await applyAdjustment(
        ctx,
        { walletId: account.walletId, subject: `account:${account.id}` },
        ctx.tenant.id,
        input,
      );
      if (result.applied) ctx.events.publishBalanceChange(account.id);
      return result;
    },
  }),
);
