import { createAccount, type Account } from '../db/queries/accounts.ts';
import { findLogin, findPasswordHash, setPasswordHash } from '../db/queries/account-auth.ts';
import { createSession, deleteOtherSessions, deleteSession } from '../db/queries/sessions.ts';
import { clearCounter, giveBack, takeAttempt, type ThrottleCounter } from '../db/queries/sign-in-throttle.ts';
import { findTenant, findTenantInChain, type Tenant } from '../db/queries/tenants.ts';
import { inTransaction } from '../db/sql.ts';
import { noticePasswordChanged, welcomeAccount } from '../notify/account-email.ts';
import { AccountRef } from './account.ts';
import { builder } from './builder.ts';
import type { GraphqlContext } from './context.ts';
import { clearSessionCookie, sessionCookie } from './cookies.ts';
import { forbidden, invalidInput, isUniqueViolation, notFound, tooManyAttempts, unauthenticated } from './errors.ts';
import { checkPassword, MAX_PASSWORD_LENGTH } from './password-policy.ts';
import { accountCounter, signInCounters, signUpCounters } from './throttle.ts';
import { boundedText, MAX_NAME_LENGTH } from './text-input.ts';

/**
 * Built-in accounts: e-mail and password (argon2id via Bun.password), works with no configuration.
 * A session token is returned in the answer (for `Authorization: Bearer`) and set as an HttpOnly
 * cookie (for browsers), so the portal and scripts use the same mutation.
 */

const SESSION_TTL_SECONDS = 30 * 24 * 3600;
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

export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, { algorithm: 'argon2id' });
}

/** The tenant to sign in or up to, refused when it or any tenant above it is suspended. */
export async function chosenTenant(ctx: GraphqlContext, slug: string | null | undefined): Promise<Tenant> {
  const tenant = slug ? await findTenant(ctx.sql, slug) : ctx.tenant;
  if (!tenant || (slug && tenant.slug !== slug)) throw notFound('Tenant');
  if ((await findTenantInChain(ctx.sql, tenant.id))?.chainStatus !== 'active')
    throw forbidden('This service is suspended. Contact support.');
  return tenant;
}

async function startSession(ctx: GraphqlContext, account: Account): Promise<SessionPayload> {
  const { token, session } = await createSession(ctx.sql, account.id, SESSION_TTL_SECONDS);
  ctx.cookies.push(sessionCookie(ctx.config, token, SESSION_TTL_SECONDS));
  return { token, expiresAt: session.expiresAt, account };
}

/**
 * Checks an e-mail and password of the tenant, counted by the throttle before the password is
 * looked at (so a refused attempt costs no hashing); a success gives the count back.
 */
async function passwordSignIn(
  ctx: GraphqlContext,
  tenant: Tenant,
  credentials: { email: string; password: string },
  counters: ThrottleCounter[],
): Promise<SessionPayload> {
  const wait = await takeAttempt(ctx.sql, counters);
  if (wait > 0) throw tooManyAttempts(wait);
  const login = await findLogin(ctx.sql, tenant.id, credentials.email);
  const matches = await Bun.password.verify(
    credentials.password.slice(0, MAX_PASSWORD_LENGTH),
    login?.passwordHash ?? DECOY_HASH,
  );
  if (!login?.passwordHash || !matches) throw unauthenticated('The e-mail or the password is wrong.');
  const account = accountCounter(tenant.id, credentials.email);
  await clearCounter(ctx.sql, account.key);
  await giveBack(
    ctx.sql,
    counters.filter((c) => c.key !== account.key).map((c) => c.key),
  );
  if (login.account.status !== 'active') throw forbidden('This account is suspended. Contact support.');
  return startSession(ctx, login.account);
}

builder.mutationField('signUp', (t) =>
  t.field({
    type: SessionRef,
    description:
      "Creates a customer account in this host's tenant (or the tenant named by slug), mails it a verification link and signs it in. For an e-mail already registered it answers as signIn does, without saying that it is.",
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
      const password = checkPassword(args.password, 'password');
      const wait = await takeAttempt(ctx.sql, signUpCounters(ctx.clientAddress));
      if (wait > 0) throw tooManyAttempts(wait);
      const passwordHash = await hashPassword(password);
      try {
        const account = await inTransaction(ctx.sql, async (tx) => {
          const created = await createAccount(tx, {
            tenantId: tenant.id,
            email,
            passwordHash,
            displayName: boundedText(args.displayName, 'displayName', MAX_NAME_LENGTH),
          });
          await welcomeAccount(tx, created);
          return created;
        });
        return await startSession(ctx, account);
      } catch (error) {
        // A registered e-mail is not announced: the answer is the one signIn gives these credentials.
        if (isUniqueViolation(error, 'accounts_tenant_email'))
          return passwordSignIn(ctx, tenant, { email, password }, [accountCounter(tenant.id, email)]);
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
      const counters = signInCounters(tenant.id, args.email, ctx.clientAddress);
      return passwordSignIn(ctx, tenant, args, counters);
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
    description:
      "Sets a new password, signs out every other session of the account and mails it a notice. Wrong current passwords count against the account's sign-in throttle.",
    args: { currentPassword: t.arg.string({ required: true }), newPassword: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const account = ctx.viewer.account;
      const current = await findPasswordHash(ctx.sql, account.id);
      if (!current) throw invalidInput('currentPassword', 'This account signs in with Clerk and has no password here.');
      // A stolen session must not become a way to guess the password faster than signIn allows.
      const counter = accountCounter(account.tenantId, account.email);
      const wait = await takeAttempt(ctx.sql, [counter]);
      if (wait > 0) throw tooManyAttempts(wait);
      if (!(await Bun.password.verify(args.currentPassword.slice(0, MAX_PASSWORD_LENGTH), current))) {
        throw invalidInput('currentPassword', 'The current password is wrong.');
      }
      await clearCounter(ctx.sql, counter.key);
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
