import type { Db } from '../sql.ts';
import { accountFromRow, SELECT_ACCOUNT, type Account, type AccountRow, type Role } from './accounts.ts';
import { keysetTail, positionColumn, withPosition, type KeysetPage, type Positioned } from './keyset.ts';

/** A tenant admin's view of the accounts of their tenant. Every function is scoped by tenant id. */

/** An account of this tenant, or undefined for an unknown id or an account of any other tenant. */
export async function findTenantAccount(db: Db, tenantId: string, accountId: string): Promise<Account | undefined> {
  const [row] = await db<AccountRow[]>`
    select ${db.unsafe(SELECT_ACCOUNT)} from accounts a join wallets w on w.account_id = a.id
    where a.id = ${accountId}::uuid and a.tenant_id = ${tenantId}::uuid`;
  return row ? accountFromRow(row) : undefined;
}

export type AccountFilter = { search: string | null; status: 'active' | 'suspended' | null; role: Role | null };

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export async function listTenantAccounts(
  db: Db,
  tenantId: string,
  filter: AccountFilter,
  page: KeysetPage,
): Promise<Positioned<Account>[]> {
  const pattern = filter.search ? `%${escapeLike(filter.search.trim())}%` : null;
  const rows = await db<(AccountRow & { position_at: string })[]>`
    select ${db.unsafe(SELECT_ACCOUNT)}, ${positionColumn(db, 'a')} from accounts a join wallets w on w.account_id = a.id
    where a.tenant_id = ${tenantId}::uuid
      ${pattern ? db`and (a.email ilike ${pattern} or a.display_name ilike ${pattern})` : db``}
      ${filter.status ? db`and a.status = ${filter.status}` : db``}
      ${filter.role ? db`and a.role = ${filter.role}` : db``}
      ${keysetTail(db, page, 'a', 'uuid')}`;
  return rows.map((row) => withPosition(row, accountFromRow));
}

export async function setAccountStatus(
  db: Db,
  tenantId: string,
  accountId: string,
  status: 'active' | 'suspended',
): Promise<Account | undefined> {
  const [updated] = await db<{ id: string }[]>`
    update accounts set status = ${status} where id = ${accountId}::uuid and tenant_id = ${tenantId}::uuid returning id`;
  return updated ? findTenantAccount(db, tenantId, accountId) : undefined;
}

export async function setDisplayName(db: Db, accountId: string, displayName: string | null): Promise<void> {
  await db`update accounts set display_name = ${displayName} where id = ${accountId}::uuid`;
}
