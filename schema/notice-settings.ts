import { findNoticeSettings, saveNoticeSettings, type NoticeSettings } from '../db/queries/notice-settings.ts';
import { builder } from './builder.ts';
import { invalidInput } from './errors.ts';
import { AmountInput, amountNanos, MoneyRef } from './money.ts';
import { TenantRef } from './tenant.ts';

/** A tenant's notice settings, for its admins: the sender of its e-mails, and what verification gates. */

const VerificationEnum = builder.enumType('VerificationPolicy', {
  values: {
    OFF: { value: 'off', description: 'Nothing waits for a verified address.' },
    CREDIT: { value: 'credit', description: 'Sign-up credit is granted only once the address is verified.' },
    KEYS: { value: 'keys', description: 'A customer creates API keys only once the address is verified.' },
  } as const,
});

const NoticeSettingsRef = builder.objectRef<NoticeSettings>('NoticeSettings').implement({
  fields: (t) => ({
    sender: t.exposeString('sender', {
      nullable: true,
      description: "The From of the tenant's e-mails (`Name <address>`); null: the installation's address.",
    }),
    verification: t.field({ type: VerificationEnum, resolve: (s) => s.verification }),
    signupCredit: t.field({
      type: MoneyRef,
      description: 'Promotional credit every new self-service account gets.',
      resolve: (s) => s.signupCreditNanos,
    }),
  }),
});

builder.objectField(TenantRef, 'noticeSettings', (t) =>
  t.field({
    type: NoticeSettingsRef,
    authScopes: { admin: true },
    resolve: (tenant, _args, ctx) => findNoticeSettings(ctx.sql, tenant.id),
  }),
);

const SENDER =
  /^(?:[^<>@\r\n"]{1,100} <[^<>@\s]{1,200}@[^<>@\s]{1,200}\.[^<>@\s]{1,60}>|[^<>@\s]{1,200}@[^<>@\s]{1,200}\.[^<>@\s]{1,60})$/;
/** A generous ceiling that still catches a slip of the keyboard: a thousand dollars. */
const MAX_SIGNUP_CREDIT_NANOS = 1_000n * 1_000_000_000n;

builder.mutationField('updateNoticeSettings', (t) =>
  t.withAuth({ admin: true }).field({
    type: NoticeSettingsRef,
    description: "Sets the tenant's sender, verification policy and sign-up credit; fields left out keep their value.",
    args: {
      sender: t.arg.string({ required: false, description: 'Empty text clears it.' }),
      verification: t.arg({ type: VerificationEnum, required: false }),
      signupCredit: t.arg({ type: AmountInput, required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const current = await findNoticeSettings(ctx.sql, ctx.tenant.id);
      const next = { ...current };
      if (args.sender !== undefined && args.sender !== null) {
        const sender = args.sender.trim();
        if (sender !== '' && !SENDER.test(sender))
          throw invalidInput('sender', 'A sender is an address like billing@acme.com or "Acme <billing@acme.com>".');
        next.sender = sender || null;
      }
      if (args.verification) next.verification = args.verification;
      if (args.signupCredit) {
        const nanos = amountNanos(args.signupCredit, 'signupCredit');
        if (nanos < 0n || nanos > MAX_SIGNUP_CREDIT_NANOS)
          throw invalidInput('signupCredit', 'Sign-up credit is between 0 and 1,000 USD.');
        next.signupCreditNanos = nanos;
      }
      return saveNoticeSettings(ctx.sql, ctx.tenant.id, next);
    },
  }),
);
