import { createAccount, type Role } from '../../db/queries/accounts.ts';
import { optionalString, requiredString } from '../args.ts';
import type { Command } from '../command.ts';
import { fields } from '../format.ts';
import { tenantOption } from '../resolve.ts';
import { email, oneOf } from '../values.ts';

const CREATE = 'account create';
const ROLES: readonly Role[] = ['customer', 'admin', 'operator'];

export const accountCreateCommand: Command = {
  name: CREATE,
  summary: 'create an account (with its credit wallet) in a tenant (default: the root tenant)',
  options: {
    email: { type: 'string', value: 'EMAIL', help: 'the account holder, unique within the tenant (required)' },
    tenant: { type: 'string', value: 'SLUG|ID', help: 'tenant the account belongs to (default: root)' },
    role: { type: 'string', value: 'ROLE', help: `one of ${ROLES.join(', ')} (default: customer)` },
  },
  prepare: (args) => {
    const address = email(CREATE, requiredString(args, 'email'));
    const tenantRef = optionalString(args, 'tenant');
    const roleText = optionalString(args, 'role');
    const role = roleText === undefined ? 'customer' : oneOf(CREATE, 'role', roleText, ROLES);
    return async (session) => {
      const tenant = await tenantOption(session, CREATE, tenantRef);
      const account = await createAccount(session.db.sql, { tenantId: tenant.id, email: address, role });
      const json = { id: account.id, email: account.email, role: account.role, status: account.status, tenantId: tenant.id, tenantSlug: tenant.slug, walletId: account.walletId, createdAt: account.createdAt };
      const text = fields([
        ['created account', account.email],
        ['id', account.id],
        ['tenant', tenant.slug],
        ['role', account.role],
      ]);
      return { json, text };
    };
  },
};
