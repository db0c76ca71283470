import { resolveAccount, type Account } from '../db/queries/accounts.ts';
import { findTenant, type Tenant } from '../db/queries/tenants.ts';
import type { OptionSpec, Session } from './command.ts';
import { UsageError } from './errors.ts';

/** `--tenant slug|id`, defaulting to the operator's root tenant. */
export async function tenantOption(session: Session, command: string, ref: string | undefined): Promise<Tenant> {
  if (ref === undefined) return session.db.root;
  const tenant = await findTenant(session.db.sql, ref);
  if (!tenant) throw new UsageError(`${command}: no tenant "${ref}" (give a slug or an id; see: tollgate tenant list)`);
  return tenant;
}

/** The options `accountOption` reads; a command may word `--account`'s help for itself. */
export const ACCOUNT_OPTIONS: Record<'account' | 'tenant', OptionSpec> = {
  account: { type: 'string', value: 'ID|EMAIL', help: 'the account (required)' },
  tenant: { type: 'string', value: 'SLUG|ID', help: 'tenant to look the email up in (default: root)' },
};

/**
 * `--account id|email`: an email is looked up in `--tenant` (default root), since the same email
 * may hold accounts in several tenants; an id is unique on its own but must agree with `--tenant`.
 */
export async function accountOption(
  session: Session,
  command: string,
  ref: string,
  tenantRef: string | undefined,
): Promise<{ account: Account; tenant: Tenant }> {
  const tenant = await tenantOption(session, command, tenantRef);
  const account = await resolveAccount(session.db.sql, tenant.id, ref);
  if (!account) throw new UsageError(`${command}: no account "${ref}" in tenant ${tenant.slug}`);
  if (account.tenantId === tenant.id) return { account, tenant };
  if (tenantRef !== undefined) throw new UsageError(`${command}: account "${ref}" is not in tenant ${tenant.slug}`);
  const own = await findTenant(session.db.sql, account.tenantId);
  if (!own) throw new Error(`account ${account.id} has no tenant`);
  return { account, tenant: own };
}
