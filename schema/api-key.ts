import { createApiKey, revokeApiKey, type ApiKey } from '../db/queries/api-keys.ts';
import {
  findTenantApiKey,
  listAccountApiKeys,
  updateApiKeySettings,
  type ApiKeySettings,
} from '../db/queries/key-management.ts';
import { isEmailVerified } from '../db/queries/account-tokens.ts';
import { findNoticeSettings } from '../db/queries/notice-settings.ts';
import { inTransaction } from '../db/sql.ts';
import { noticeKeyCreated, noticeKeyRevoked } from '../notify/account-email.ts';
import { findAccount } from '../db/queries/accounts.ts';
import { AccountRef } from './account.ts';
import { builder } from './builder.ts';
import { isAdmin, type SignedInContext } from './context.ts';
import { forbidden, invalidInput, notFound, uuidOr404 } from './errors.ts';
import { AmountInput, amountNanos, MoneyRef } from './money.ts';
import { keysetConnection } from './pagination.ts';
import { targetAccount } from './scope.ts';

/** API keys (`tg-…`) for /v1: created (secret shown once), listed, renamed, limited and revoked. */

const ApiKeyRef = builder.objectRef<ApiKey>('ApiKey').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    accountId: t.exposeID('accountId'),
    publicId: t.exposeString('publicId', { description: 'The first characters of the key, safe to show in lists.' }),
    name: t.exposeString('name'),
    createdAt: t.field({ type: 'DateTime', resolve: (k) => k.createdAt }),
    expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.expiresAt }),
    revokedAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.revokedAt }),
    lastUsedAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.lastUsedAt }),
    active: t.boolean({
      resolve: (k) => k.revokedAt === null && (k.expiresAt === null || k.expiresAt.getTime() > Date.now()),
    }),
    creditCap: t.field({
      type: MoneyRef,
      nullable: true,
      description: 'The most this key may ever spend; null for no cap.',
      resolve: (k) => k.creditCapNanos,
    }),
    spent: t.field({ type: MoneyRef, resolve: (k) => k.spentNanos }),
    held: t.field({ type: MoneyRef, resolve: (k) => k.heldNanos }),
    allowedModels: t.stringList({
      nullable: true,
      description: 'Model ids or globs (openai/*) this key may use; null for all.',
      resolve: (k) => k.allowedModels,
    }),
  }),
});

const ApiKeyConnection = builder.connectionObject({ type: ApiKeyRef, name: 'ApiKeyConnection' });

builder.objectField(AccountRef, 'apiKeys', (t) =>
  t.connection(
    {
      type: ApiKeyRef,
      args: { includeRevoked: t.arg.boolean({ required: false, defaultValue: false }) },
      resolve: (account, args, ctx) =>
        keysetConnection(args, (page) => listAccountApiKeys(ctx.sql, account.id, args.includeRevoked ?? false, page)),
    },
    ApiKeyConnection,
  ),
);

/** A key the caller may see: one of their own, or (for an admin) any key of their tenant. */
async function scopedKey(ctx: SignedInContext, id: string): Promise<ApiKey> {
  const key = await findTenantApiKey(ctx.sql, ctx.tenant.id, uuidOr404(id, 'API key'));
  const own = ctx.viewer.kind === 'account' && key?.accountId === ctx.viewer.account.id;
  if (!key || (!own && !isAdmin(ctx.viewer))) throw notFound('API key');
  return key;
}

builder.queryField('apiKey', (t) =>
  t.withAuth({ signedIn: true }).field({
    type: ApiKeyRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => scopedKey(ctx, String(id)),
  }),
);

const MAX_ALLOWED_MODELS = 100;

function checkSettings(input: {
  name?: string | null;
  expiresAt?: Date | null;
  creditCap?: { nanos?: bigint | null; usd?: string | null } | null;
  allowedModels?: string[] | null;
}): ApiKeySettings {
  const settings: ApiKeySettings = {};
  if (input.name !== undefined && input.name !== null) {
    if (input.name.length > 200) throw invalidInput('name', 'At most 200 characters.');
    settings.name = input.name.trim();
  }
  if (input.expiresAt !== undefined) {
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now())
      throw invalidInput('expiresAt', 'The expiry must be in the future.');
    settings.expiresAt = input.expiresAt;
  }
  if (input.creditCap !== undefined) {
    const cap = input.creditCap === null ? null : amountNanos(input.creditCap, 'creditCap');
    if (cap !== null && cap < 0n) throw invalidInput('creditCap', 'A credit cap cannot be negative.');
    settings.creditCapNanos = cap;
  }
  if (input.allowedModels !== undefined) {
    const models = input.allowedModels?.map((m) => m.trim()) ?? null;
    if (models && (models.length > MAX_ALLOWED_MODELS || models.some((m) => m.length < 1 || m.length > 200))) {
      throw invalidInput('allowedModels', `At most ${MAX_ALLOWED_MODELS} model ids or globs of 1 to 200 characters.`);
    }
    settings.allowedModels = models;
  }
  return settings;
}

const ApiKeyInput = builder.inputType('ApiKeyInput', {
  description: 'Fields left out keep their value; null clears a limit.',
  fields: (t) => ({
    name: t.string({ required: false }),
    expiresAt: t.field({ type: 'DateTime', required: false }),
    creditCap: t.field({ type: AmountInput, required: false }),
    allowedModels: t.stringList({ required: false }),
  }),
});

type CreatedKey = { key: string; apiKey: ApiKey };

const CreatedApiKeyRef = builder.objectRef<CreatedKey>('CreatedApiKey').implement({
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The secret key. Shown only in this answer: store it now.' }),
    apiKey: t.field({ type: ApiKeyRef, resolve: (c) => c.apiKey }),
  }),
});

builder.mutationField('createApiKey', (t) =>
  t.withAuth({ signedIn: true }).field({
    type: CreatedApiKeyRef,
    description: "Creates a key for the caller's account, or (for an admin) for any account of the tenant.",
    args: { accountId: t.arg.id({ required: false }), input: t.arg({ type: ApiKeyInput, required: false }) },
    resolve: async (_root, args, ctx) => {
      const account = await targetAccount(
        ctx,
        args.accountId === null || args.accountId === undefined ? null : String(args.accountId),
      );
      const settings = checkSettings(args.input ?? {});
      // A tenant may want a proven address before a customer's own key exists; its admins are trusted.
      if (!isAdmin(ctx.viewer) && (await findNoticeSettings(ctx.sql, ctx.tenant.id)).verification === 'keys') {
        if (!(await isEmailVerified(ctx.sql, account.id)))
          throw forbidden('Confirm your e-mail address first: open the link we mailed you, or ask for a new one.');
      }
      return inTransaction(ctx.sql, async (tx) => {
        const created = await createApiKey(tx, ctx.keyPepper, { accountId: account.id, ...settings });
        await noticeKeyCreated(tx, account, created.apiKey);
        return created;
      });
    },
  }),
);

builder.mutationField('updateApiKey', (t) =>
  t.withAuth({ signedIn: true }).field({
    type: ApiKeyRef,
    description: 'Renames a key or changes its expiry, credit cap or allowed models.',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: ApiKeyInput, required: true }) },
    resolve: async (_root, { id, input }, ctx) => {
      const key = await scopedKey(ctx, String(id));
      return (await updateApiKeySettings(ctx.sql, key.id, checkSettings(input))) ?? key;
    },
  }),
);

builder.mutationField('revokeApiKey', (t) =>
  t.withAuth({ signedIn: true }).field({
    type: ApiKeyRef,
    description: 'Stops a key for good; every gateway replica refuses it within a couple of seconds.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      const key = await scopedKey(ctx, String(id));
      return inTransaction(ctx.sql, async (tx) => {
        const revoked = await revokeApiKey(tx, key.id);
        const owner = await findAccount(tx, key.accountId);
        if (revoked && owner) await noticeKeyRevoked(tx, owner, revoked);
        return revoked ?? key;
      });
    },
  }),
);
