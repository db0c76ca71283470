import { findAccount, findAccountByEmail } from '../db/queries/accounts.ts';
import { findPasswordHash, setPasswordHash } from '../db/queries/account-auth.ts';
import { isEmailVerified, retireAccountTokens, useAccountToken } from '../db/queries/account-tokens.ts';
import { deleteOtherSessions } from '../db/queries/sessions.ts';
import { inTransaction } from '../db/sql.ts';
import {
  confirmAddress,
  noticePasswordChanged,
  sendPasswordResetEmail,
  sendVerificationEmail,
} from '../notify/account-email.ts';
import { AccountRef } from './account.ts';
import { builder } from './builder.ts';
import { invalidInput } from './errors.ts';
import { checkPassword } from './password-policy.ts';
import { chosenTenant, hashPassword } from './session.ts';

/**
 * E-mail verification and password reset. Both links carry a single-use token; a reset request
 * answers `true` whether or not the address has an account (and sends nothing when it has none),
 * so the API never tells who is registered.
 */

builder.objectField(AccountRef, 'emailVerified', (t) =>
  t.boolean({
    description: 'Whether the account has confirmed its e-mail address through a mailed link.',
    resolve: (account, _args, ctx) => isEmailVerified(ctx.sql, account.id),
  }),
);

builder.queryField('emailConfigured', (t) =>
  t.boolean({
    description: 'False when the installation has no SMTP server: e-mails are written to a folder on the server.',
    resolve: (_root, _args, ctx) => ctx.config.mail.smtpUrl !== undefined,
  }),
);

builder.mutationField('requestEmailVerification', (t) =>
  t.withAuth({ account: true }).field({
    type: 'Boolean',
    description: 'Mails a new verification link to the signed-in account. False when already verified or throttled.',
    resolve: async (_root, _args, ctx) => {
      const account = ctx.viewer.account;
      if (await isEmailVerified(ctx.sql, account.id)) return false;
      return inTransaction(ctx.sql, (tx) => sendVerificationEmail(tx, account));
    },
  }),
);

const INVALID_LINK = 'This link is not valid any more: it was used already or it expired. Ask for a new one.';

builder.mutationField('verifyEmail', (t) =>
  t.field({
    type: 'Boolean',
    description: 'Confirms an address with the token of a verification link. Needs no session.',
    args: { token: t.arg.string({ required: true }) },
    resolve: (_root, { token }, ctx) =>
      inTransaction(ctx.sql, async (tx) => {
        const used = await useAccountToken(tx, 'verify_email', token.trim());
        const account = used ? await findAccount(tx, used.accountId) : undefined;
        if (!used || !account) throw invalidInput('token', INVALID_LINK);
        await confirmAddress(tx, account, used.email);
        return true;
      }),
  }),
);

builder.mutationField('requestPasswordReset', (t) =>
  t.field({
    type: 'Boolean',
    description:
      'Mails a reset link if the address has an account with a password in this tenant. ' +
      'Always true, so it tells nothing.',
    args: {
      email: t.arg.string({ required: true }),
      tenantSlug: t.arg.string({ required: false, description: "This tenant instead of the host's." }),
    },
    resolve: async (_root, args, ctx) => {
      const tenant = await chosenTenant(ctx, args.tenantSlug);
      const email = args.email.trim().slice(0, 400);
      await inTransaction(ctx.sql, async (tx) => {
        const account = await findAccountByEmail(tx, tenant.id, email);
        // Accounts that sign in with Clerk have no password here to reset.
        if (account?.status !== 'active' || !(await findPasswordHash(tx, account.id))) return;
        await sendPasswordResetEmail(tx, account);
      });
      return true;
    },
  }),
);

builder.mutationField('resetPassword', (t) =>
  t.field({
    type: 'Boolean',
    description: 'Sets a new password with the token of a reset link and signs out every session of the account.',
    args: { token: t.arg.string({ required: true }), newPassword: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const passwordHash = await hashPassword(checkPassword(args.newPassword, 'newPassword'));
      return inTransaction(ctx.sql, async (tx) => {
        const used = await useAccountToken(tx, 'reset_password', args.token.trim());
        const account = used ? await findAccount(tx, used.accountId) : undefined;
        if (!used || !account || account.status !== 'active') throw invalidInput('token', INVALID_LINK);
        await setPasswordHash(tx, account.id, passwordHash);
        await deleteOtherSessions(tx, account.id, null);
        await retireAccountTokens(tx, account.id, 'reset_password');
        // The link reached the account's address: that proves it as well as a verification link.
        await confirmAddress(tx, account, used.email);
        await noticePasswordChanged(tx, account);
        return true;
      });
    },
  }),
);
