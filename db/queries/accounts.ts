import { inTransaction, isUuid, type Db } from '../sql.ts';

export type Role = 'customer' | 'admin' | 'operator';
export type Account = {
  id: string;
  tenantId: string;
  email: string;
  role: Role;
  status: 'active' | 'suspended';
  displayName: string | null;
  walletId: bigint;
  createdAt: Date;
};

/** The columns every account query selects (see SELECT_ACCOUNT), as postgres.js returns them. */
export type AccountRow = {
  id: string;
  tenant_id: string;
  email: string;
  role: Role;
  status: 'active' | 'suspended';
  display_name: string | null;
  wallet_id: bigint;
  created_at: Date;
};

export function accountFromRow(row: AccountRow): Account {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    email: row.email,
    role: row.role,
    status: row.status,
    displayName: row.display_name,
    walletId: row.wallet_id,
    createdAt: row.created_at,
  };
}

export type NewAccount = {
  tenantId: string;
  email: string;
  role?: Role;
  displayName?: string | null;
  passwordHash?: string | null;
  clerkUserId?: string | null;
};

/** Creates the account and its customer wallet together: an account never exists without one. */
export async function createAccount(db: Db, input: NewAccount): Promise<Account> {
  return inTransaction(db, async (tx) => {
    const [account] = await tx<Omit<AccountRow, 'wallet_id'>[]>`
      insert into accounts (tenant_id, email, role, display_name, password_hash, clerk_user_id, email_verified_at)
      values (${input.tenantId}::uuid, ${input.email.trim()}, ${input.role ?? 'customer'}, ${input.displayName ?? null},
              ${input.passwordHash ?? null}, ${input.clerkUserId ?? null},
              -- Clerk has verified the address of its users before Tollgate sees them.
              case when ${input.clerkUserId ?? null}::text is not null then now() end)
      returning id, tenant_id, email, role, status, display_name, created_at`;
    if (!account) throw new Error('account insert returned nothing');
    const [wallet] = await tx<{ id: bigint }[]>`
      insert into wallets (kind, account_id, tenant_id) values ('customer', ${account.id}::uuid, ${account.tenant_id}::uuid) returning id`;
    if (!wallet) throw new Error('wallet insert returned nothing');
    return accountFromRow({ ...account, wallet_id: wallet.id });
  });
}

/** Select list for `accounts a join wallets w on w.account_id = a.id`, matching AccountRow. */
export const SELECT_ACCOUNT =
  'a.id, a.tenant_id, a.email, a.role, a.status, a.display_name, a.created_at, w.id as wallet_id';

export async function findAccount(db: Db, id: string): Promise<Account | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await db<AccountRow[]>`
    select ${db.unsafe(SELECT_ACCOUNT)} from accounts a join wallets w on w.account_id = a.id where a.id = ${id}::uuid`;
  return row ? accountFromRow(row) : undefined;
}

export async function findAccountByEmail(db: Db, tenantId: string, email: string): Promise<Account | undefined> {
  const [row] = await db<AccountRow[]>`
    select ${db.unsafe(SELECT_ACCOUNT)} from accounts a join wallets w on w.account_id = a.id
    where a.tenant_id = ${tenantId}::uuid and lower(a.email) = lower(${email.trim()})`;
  return row ? accountFromRow(row) : undefined;
}

/** An account id, or an email looked up in the given tenant: what CLI commands accept for --account. */
export async function resolveAccount(db: Db, tenantId: string, idOrEmail: string): Promise<Account | undefined> {
  return idOrEmail.includes('@') ? findAccountByEmail(db, tenantId, idOrEmail) : findAccount(db, idOrEmail);
}

export async function setAccountRole(db: Db, accountId: string, role: Role): Promise<void> {
  await db`update accounts set role = ${role} where id = ${accountId}::uuid`;
}
