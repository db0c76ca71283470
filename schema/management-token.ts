import {
  createManagementToken,
  listManagementTokens,
  revokeManagementToken,
  type ManagementToken,
} from '../db/queries/management-tokens.ts';
import { builder } from './builder.ts';
import { signedIn } from './context.ts';
import { invalidInput, notFound, uuidOr404 } from './errors.ts';
import { keysetConnection } from './pagination.ts';

/**
 * Management tokens (`tgm-…`) let an integrator's software call this API as the admin of one
 * tenant. Only a signed-in admin mints them (a token cannot mint more tokens); the secret is shown
 * once; any admin of the tenant can list and revoke them.
 */

const ManagementTokenRef = builder.objectRef<ManagementToken>('ManagementToken').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    publicId: t.exposeString('publicId', { description: 'The first characters of the token, safe to show in lists.' }),
    name: t.exposeString('name'),
    createdBy: t.exposeID('createdBy', { description: 'The admin account that created it.' }),
    createdAt: t.field({ type: 'DateTime', resolve: (m) => m.createdAt }),
    expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (m) => m.expiresAt }),
    revokedAt: t.field({ type: 'DateTime', nullable: true, resolve: (m) => m.revokedAt }),
    lastUsedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Updated at most once a minute.',
      resolve: (m) => m.lastUsedAt,
    }),
    active: t.boolean({
      resolve: (m) => m.revokedAt === null && (m.expiresAt === null || m.expiresAt.getTime() > Date.now()),
    }),
  }),
});

const ManagementTokenConnection = builder.connectionObject({
  type: ManagementTokenRef,
  name: 'ManagementTokenConnection',
});

builder.queryField('managementTokens', (t) =>
  t.connection(
    {
      type: ManagementTokenRef,
      authScopes: { admin: true },
      resolve: (_root, args, rawCtx) => {
        const ctx = signedIn(rawCtx);
        return keysetConnection(args, (page) => listManagementTokens(ctx.sql, ctx.tenant.id, page));
      },
    },
    ManagementTokenConnection,
  ),
);

type Created = { token: string; managementToken: ManagementToken };

const CreatedRef = builder.objectRef<Created>('CreatedManagementToken').implement({
  fields: (t) => ({
    token: t.exposeString('token', {
      description: 'The secret. Shown only in this answer: store it now. Send as `Authorization: Bearer <token>`.',
    }),
    managementToken: t.field({ type: ManagementTokenRef, resolve: (c) => c.managementToken }),
  }),
});

builder.mutationField('createManagementToken', (t) =>
  t.withAuth({ adminAccount: true }).field({
    type: CreatedRef,
    args: { name: t.arg.string({ required: true }), expiresAt: t.arg({ type: 'DateTime', required: false }) },
    resolve: (_root, args, ctx) => {
      const name = args.name.trim();
      if (name.length < 1 || name.length > 200) throw invalidInput('name', 'A name has 1 to 200 characters.');
      if (args.expiresAt && args.expiresAt.getTime() <= Date.now())
        throw invalidInput('expiresAt', 'The expiry must be in the future.');
      return createManagementToken(ctx.sql, {
        tenantId: ctx.tenant.id,
        createdBy: ctx.viewer.account.id,
        name,
        expiresAt: args.expiresAt ?? null,
      });
    },
  }),
);

builder.mutationField('revokeManagementToken', (t) =>
  t.withAuth({ admin: true }).field({
    type: ManagementTokenRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      const revoked = await revokeManagementToken(ctx.sql, ctx.tenant.id, uuidOr404(String(id), 'Management token'));
      if (!revoked) throw notFound('Management token');
      return revoked;
    },
  }),
);
