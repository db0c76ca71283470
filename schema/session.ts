import { createAccount, type Account } from '../db/queries/accounts.ts';
import { findLogin, findPasswordHash, setPasswordHash } from '../db/queries/account-auth.ts';
import { createSession, deleteOtherSessions, deleteSession } from '../db/queries/sessions.ts';
import { findTenant, type Tenant } from '../db/queries/tenants.ts';
import { inTransaction } from '../db/sql.ts';
import { noticePasswordChanged, welcomeAccount } from '../notify/account-email.ts';
import { AccountRef } from './account.ts';
import { builder } from './builder.ts';
import type { GraphqlContext } from './context.ts';
import { clearSessionCookie, sessionCookie } from './cookies.ts';
import { forbidden, invalidInput, isUniqueViolation, notFound, unauthenticated } from './errors.ts';

/**
 * Built-in accounts: e-mail and password (argon2id via Bun.password), works with no configuration.
 * A session token is returned in the answer (for `Authorization: Bearer`) and set as an HttpOnly
 * cookie (for browsers), so the portal and scripts use the same mutation.
 */

const SESSION_TTL_SECONDS = 30 * 24 * 3600;
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 200;
const EMAIL = /^[^@\s]{1,200}@[^@\s]{1,200}$/;
/** Verified when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password. */
const DECOY_HASH = await Bun.password.hash('decoy password', { algorithm: 'argon2id' });

type SessionPayload = { token: string; expiresAt: Date; account: Account };

const SessionRef = builder.objectRef<SessionPayload>('Session').implement({
  description: 'A new session. The token is shown only here; it is also set as the tollgate_session cookie.',
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Send as `Authorization: Bearer <token>`.' }),
    expiresAt: t.field({ type: 'DateTime', resolve: (s) => s.expiresAt }),
    account: t.field({ type: AccountRef, resolve: (s) => s.account }),
  }),
});

export function checkPassword(password: string, field: string): string {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw invalidInput(field, `A password has ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters.`);
  }
  return password;
}

export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, { algorithm: 'argon2id' });
}

export async function chosenTenant(ctx: GraphqlContext, slug: string | null | undefined): Promise<Tenant> {
  const tenant = slug ? await findTenant(ctx.sql, slug) : ctx.tenant;
  if (!tenant || (slug && tenant.slug !== slug)) throw notFound('Tenant');
  if (tenant.status !== 'active') throw forbidden('This service is suspended. Contact support.');
  return tenant;
}

async function startSession(ctx: GraphqlContext, account: Account): Promise<SessionPayload> {
  const { token, session } = await createSession(ctx.sql, account.id, SESSION_TTL_SECONDS);
  ctx.cookies.push(sessionCookie(ctx.config, token, SESSION_TTL_SECONDS));
  return { token, expiresAt: session.expiresAt, account };
}

builder.mutationField('signUp', (t) =>
  t.field({
    type: SessionRef,
    description:
      "Creates a customer account in this host's tenant (or the tenant named by slug), " +
      'mails it a verification link and signs it in.',
    args: {
      email: t.arg.string({ required: true }),
      password: t.arg.string({ required: true }),
      displayName: t.arg.string({ required: false }),
      tenantSlug: t.arg.string({ required: false, description: "Sign up to this tenant instead of the host's." }),
    },
    resolve: async (_root, args, ctx) => {
      const tenant = await chosenTenant(ctx, args.tenantSlug);
      const email = args.email.trim();
      if (!EMAIL.test(email)) throw invalidInput('email', 'Not an e-mail address.');
      const passwordHash = await hashPassword(checkPassword(args.password, 'password'));
      try {
        const account = await inTransaction(ctx.sql, async (tx) => {
          const created = await createAccount(tx, {
            tenantId: tenant.id,
            email,
            passwordHash,
            displayName: args.displayName?.trim() || null,
          });
          await welcomeAccount(tx, created);
          return created;
        });
        return await startSession(ctx, account);
      } catch (error) {
        if (isUniqueViolation(error, 'accounts_tenant_email'))
          throw invalidInput('email', 'This e-mail is already registered; sign in instead.');
        throw error;
      }
    },
  }),
);

builder.mutationField('signIn', (t) =>
  t.field({
    type: SessionRef,
    args: {
      email: t.arg.string({ required: true }),
      password: t.arg.string({ required: true }),
      tenantSlug: t.arg.string({ required: false, description: "Sign in to this tenant instead of the host's." }),
    },
    resolve: async (_root, args, ctx) => {
      const tenant = await chosenTenant(ctx, args.tenantSlug);
      const login = await findLogin(ctx.sql, tenant.id, args.email);
      const matches = await Bun.password.verify(
        args.password.slice(0, MAX_PASSWORD_LENGTH),
        login?.passwordHash ?? DECOY_HASH,
      );
      if (!login?.passwordHash || !matches) throw unauthenticated('The e-mail or the password is wrong.');
      if (login.account.status !== 'active') throw forbidden('This account is suspended. Contact support.');
      return startSession(ctx, login.account);
    },
  }),
);

builder.mutationField('signOut', (t) =>
  t.field({
    type: 'Boolean',
    description: 'Ends the current session (when there is one) and clears the cookie. Always true.',
    resolve: async (_root, _args, ctx) => {
      if (ctx.viewer?.kind === 'account' && ctx.viewer.sessionId) await deleteSession(ctx.sql, ctx.viewer.sessionId);
      ctx.cookies.push(clearSessionCookie(ctx.config));
      return true;
    },
  }),
);

builder.mutationField('changePassword', (t) =>
  t.withAuth({ account: true }).field({
    type: 'Boolean',
    description: 'Sets a new password, signs out every other session of the account and mails it a notice.',
    args: { currentPassword: t.arg.string({ required: true }), newPassword: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const account = ctx.viewer.account;
      const current = await findPasswordHash(ctx.sql, account.id);
      if (!current) throw invalidInput('currentPassword', 'This account signs in with Clerk and has no password here.');
      if (!(await Bun.password.verify(args.currentPassword.slice(0, MAX_PASSWORD_LENGTH), current))) {
        throw invalidInput('currentPassword', 'The current password is wrong.');
      }
      const passwordHash = await hashPassword(checkPassword(args.newPassword, 'newPassword'));
      await inTransaction(ctx.sql, async (tx) => {
        await setPasswordHash(tx, account.id, passwordHash);
        await deleteOtherSessions(tx, account.id, ctx.viewer.sessionId);
        await noticePasswordChanged(tx, account);
      });
      return true;
    },
  }),
);
