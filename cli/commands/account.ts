import { createAccount, findAccount, setAccountRole, type Role } from '../../db/queries/accounts.ts';
import { setPasswordHash } from '../../db/queries/account-auth.ts';
import { setAccountStatus } from '../../db/queries/customers.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../schema/password-policy.ts';
import { flag, optionalString, requiredString } from '../args.ts';
import type { Command, Session } from '../command.ts';
import { UsageError } from '../errors.ts';
import { fields } from '../format.ts';
import { ACCOUNT_OPTIONS, accountOption, tenantOption } from '../resolve.ts';
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
      const json = {
        id: account.id,
        email: account.email,
        role: account.role,
        status: account.status,
        tenantId: tenant.id,
        tenantSlug: tenant.slug,
        walletId: account.walletId,
        createdAt: account.createdAt,
      };
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

const SET = 'account set';
const STATUSES = ['active', 'suspended'] as const;

/** The first line of stdin: a password never goes on the command line, where `ps` and shell history would keep it. */
async function passwordFromStdin(session: Session): Promise<string> {
  const password = (await session.input()).split(/\r?\n/)[0] ?? '';
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new UsageError(
      `${SET}: the password on stdin must have ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`,
    );
  }
  return password;
}

export const accountSetCommand: Command = {
  name: SET,
  summary: "change an account's role or status, or set its portal password from stdin",
  options: {
    ...ACCOUNT_OPTIONS,
    role: { type: 'string', value: 'ROLE', help: `one of ${ROLES.join(', ')}` },
    status: {
      type: 'string',
      value: 'STATUS',
      help: `${STATUSES.join(' or ')}; a suspended account's keys and sign-in are refused`,
    },
    'password-stdin': {
      type: 'boolean',
      help: 'read a new password for the built-in sign-in from the first line of stdin',
    },
  },
  prepare: (args) => {
    const accountRef = requiredString(args, 'account');
    const tenantRef = optionalString(args, 'tenant');
    const roleText = optionalString(args, 'role');
    const role = roleText === undefined ? undefined : oneOf(SET, 'role', roleText, ROLES);
    const statusText = optionalString(args, 'status');
    const status = statusText === undefined ? undefined : oneOf(SET, 'status', statusText, STATUSES);
    const password = flag(args, 'password-stdin');
    if (role === undefined && status === undefined && !password)
      throw new UsageError(`${SET}: nothing to change (give --role, --status or --password-stdin)`);
    return async (session) => {
      const sql = session.db.sql;
      const { account, tenant } = await accountOption(session, SET, accountRef, tenantRef);
      if (password)
        await setPasswordHash(
          sql,
          account.id,
          await Bun.password.hash(await passwordFromStdin(session), { algorithm: 'argon2id' }),
        );
      if (role !== undefined) await setAccountRole(sql, account.id, role);
      if (status !== undefined) await setAccountStatus(sql, tenant.id, account.id, status);
      const updated = (await findAccount(sql, account.id)) ?? account;
      const json = {
        id: updated.id,
        email: updated.email,
        role: updated.role,
        status: updated.status,
        tenantId: tenant.id,
        tenantSlug: tenant.slug,
        passwordChanged: password,
      };
      const text = fields([
        ['account', updated.email],
        ['tenant', tenant.slug],
        ['role', updated.role],
        ['status', updated.status],
        ['password', password ? 'changed' : 'unchanged'],
      ]);
      return { json, text };
    };
  },
};
