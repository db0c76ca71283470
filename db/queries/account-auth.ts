import type { Db } from '../sql.ts';
import { accountFromRow, SELECT_ACCOUNT, type Account, type AccountRow } from './accounts.ts';

/** Look-ups that sign-in needs and nothing else should: the password hash never leaves this path. */

export async function findLogin(
  db: Db,
  tenantId: string,
  email: string,
): Promise<{ account: Account; passwordHash: string | null } | undefined> {
  const [row] = await db<(AccountRow & { password_hash: string | null })[]>`
    select ${db.unsafe(SELECT_ACCOUNT)}, a.password_hash from accounts a join wallets w on w.account_id = a.id
    where a.tenant_id = ${tenantId}::uuid and lower(a.email) = lower(${email.trim()})`;
  return row ? { account: accountFromRow(row), passwordHash: row.password_hash } : undefined;
}

export async function findPasswordHash(db: Db, accountId: string): Promise<string | null> {
  const [row] = await db<
    { password_hash: string | null }[]
  >`select password_hash from accounts where id = ${accountId}::uuid`;
  return row?.password_hash ?? null;
}

export async function setPasswordHash(db: Db, accountId: string, passwordHash: string): Promise<void> {
  await db`update accounts set password_hash = ${passwordHash} where id = ${accountId}::uuid`;
}

export async function findAccountByClerkUser(db: Db, clerkUserId: string): Promise<Account | undefined> {
  const [row] = await db<AccountRow[]>`
    select ${db.unsafe(SELECT_ACCOUNT)} from accounts a join wallets w on w.account_id = a.id where a.clerk_user_id = ${clerkUserId}`;
  return row ? accountFromRow(row) : undefined;
}
