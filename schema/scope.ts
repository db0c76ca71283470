import type { Account } from '../db/queries/accounts.ts';
import { findTenantAccount } from '../db/queries/customers.ts';
import type { SignedInContext } from './context.ts';
import { isAdmin } from './context.ts';
import { invalidInput, notFound, uuidOr404 } from './errors.ts';

/**
 * The one place that decides which account a call may touch: a customer only their own; an admin
 * (by account or management token) any account of their tenant. Anything else is NOT_FOUND, the
 * same answer as for an id that does not exist.
 */
export async function targetAccount(ctx: SignedInContext, accountId: string | null | undefined): Promise<Account> {
  const viewer = ctx.viewer;
  if (accountId === null || accountId === undefined) {
    if (viewer.kind === 'account') return viewer.account;
    throw invalidInput('accountId', 'A management token has no account of its own: pass accountId.');
  }
  if (viewer.kind === 'account' && viewer.account.id === accountId) return viewer.account;
  if (!isAdmin(viewer)) throw notFound('Account');
  const account = await findTenantAccount(ctx.sql, ctx.tenant.id, uuidOr404(accountId, 'Account'));
  if (!account) throw notFound('Account');
  return account;
}

/** For filters: null means "the whole tenant" for an admin, and "my own account" for a customer. */
export async function accountFilter(
  ctx: SignedInContext,
  accountId: string | null | undefined,
): Promise<string | null> {
  if ((accountId === null || accountId === undefined) && isAdmin(ctx.viewer)) return null;
  return (await targetAccount(ctx, accountId)).id;
}
