import { createAccount, type Account } from '../db/queries/accounts.ts';
import { wholesaleSpend } from '../db/queries/reports.ts';
import { findChildTenant, listChildTenants, setChildTenantStatus } from '../db/queries/tenant-admin.ts';
import { createTenant, tenantChain, tenantWalletId, type Tenant } from '../db/queries/tenants.ts';
import { walletBalance } from '../db/queries/transfers.ts';
import { inTransaction } from '../db/sql.ts';
import { BalanceRef, StatusEnum } from './account.ts';
import { AdjustmentInput, AdjustmentResultRef, applyAdjustment } from './adjustment.ts';
import { builder } from './builder.ts';
import { signedIn, type SignedInContext } from './context.ts';
import { invalidInput, isUniqueViolation, notFound, uuidOr404 } from './errors.ts';
import { MoneyRef } from './money.ts';
import { checkPassword } from './password-policy.ts';
import { keysetConnection } from './pagination.ts';
import { claimNewTenantDomain } from './domain.ts';
import { checkMarkup, checkName } from './tenant.ts';

/**
 * White-label: a tenant admin (the operator, or a reseller) creates child tenants, each with its
 * own admin and markup. The parent sees each child's wholesale credit and spend — what the child
 * pays it — but never the child's customers; the child sees its own margin in its own reports.
 */

const ChildTenantRef = builder.objectRef<Tenant>('ChildTenant').implement({
  description: "A reseller tenant under the caller's tenant, as its parent sees it.",
  fields: (t) => ({
    id: t.exposeID('id'),
    slug: t.exposeString('slug'),
    name: t.exposeString('name'),
    markupBps: t.exposeInt('markupBps', { description: "The child's default markup over the parent's price." }),
    status: t.field({ type: StatusEnum, resolve: (c) => c.status }),
    customDomain: t.exposeString('customDomain', { nullable: true }),
    createdAt: t.field({ type: 'DateTime', resolve: (c) => c.createdAt }),
    wholesaleBalance: t.field({
      type: BalanceRef,
      description: "The child's prepaid credit with this tenant; its customers' usage draws on it.",
      resolve: async (c, _args, ctx) => {
        const balance = await walletBalance(ctx.sql, await tenantWalletId(ctx.sql, c.id, 'reseller'));
        if (!balance) throw new Error(`tenant ${c.id} has no reseller wallet`);
        return balance;
      },
    }),
    wholesaleSpend: t.field({
      type: MoneyRef,
      description: 'What the child paid this tenant for usage in the range (the last 30 days by default).',
      args: { from: t.arg({ type: 'DateTime', required: false }), to: t.arg({ type: 'DateTime', required: false }) },
      resolve: (c, args, ctx) => {
        const to = args.to ?? new Date();
        const from = args.from ?? new Date(to.getTime() - 30 * 24 * 3600_000);
        return wholesaleSpend(ctx.sql, { tenantId: c.id, from, to });
      },
    }),
  }),
});

const ChildTenantConnection = builder.connectionObject({ type: ChildTenantRef, name: 'ChildTenantConnection' });

builder.queryField('childTenants', (t) =>
  t.connection(
    {
      type: ChildTenantRef,
      authScopes: { admin: true },
      resolve: (_root, args, rawCtx) => {
        const ctx = signedIn(rawCtx);
        return keysetConnection(args, (page) => listChildTenants(ctx.sql, ctx.tenant.id, page));
      },
    },
    ChildTenantConnection,
  ),
);

async function scopedChild(ctx: SignedInContext, id: string): Promise<Tenant> {
  const child = await findChildTenant(ctx.sql, ctx.tenant.id, uuidOr404(id, 'Tenant'));
  if (!child) throw notFound('Tenant');
  return child;
}

builder.queryField('childTenant', (t) =>
  t.withAuth({ admin: true }).field({
    type: ChildTenantRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => scopedChild(ctx, String(id)),
  }),
);

const NewChildInput = builder.inputType('NewChildTenantInput', {
  fields: (t) => ({
    slug: t.string({
      required: true,
      description: 'Lowercase letters, digits and dashes; unique across the installation.',
    }),
    name: t.string({ required: true }),
    markupBps: t.int({
      required: true,
      description: "The child's default markup over this tenant's price, in basis points.",
    }),
    adminEmail: t.string({ required: true }),
    adminPassword: t.string({ required: true }),
    customDomain: t.string({
      required: false,
      description: 'The host name its customers use (point the DNS at the gateway); the reseller can change it later.',
    }),
  }),
});

type CreatedChild = { tenant: Tenant; admin: Account };

/** The new admin is named, not exposed as an Account: the parent never holds an object of the child's accounts. */
const CreatedChildRef = builder.objectRef<CreatedChild>('CreatedChildTenant').implement({
  fields: (t) => ({
    tenant: t.field({ type: ChildTenantRef, resolve: (c) => c.tenant }),
    adminId: t.id({ resolve: (c) => c.admin.id }),
    adminEmail: t.string({ resolve: (c) => c.admin.email }),
  }),
});

/** Bounded so the markup chain (and every walk up the tree) stays short. */
const MAX_TENANT_DEPTH = 8;
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;
const EMAIL = /^[^@\s]{1,200}@[^@\s]{1,200}$/;

builder.mutationField('createChildTenant', (t) =>
  t.withAuth({ admin: true }).field({
    type: CreatedChildRef,
    args: { input: t.arg({ type: NewChildInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      if (!SLUG.test(input.slug))
        throw invalidInput('slug', 'A slug has lowercase letters, digits and dashes (up to 63).');
      if (!EMAIL.test(input.adminEmail.trim())) throw invalidInput('adminEmail', 'Not an e-mail address.');
      checkPassword(input.adminPassword, 'adminPassword');
      if ((await tenantChain(ctx.sql, ctx.tenant.id)).length >= MAX_TENANT_DEPTH)
        throw invalidInput('input', `Tenants nest at most ${MAX_TENANT_DEPTH} deep.`);
      const passwordHash = await Bun.password.hash(input.adminPassword, { algorithm: 'argon2id' });
      const markupBps = checkMarkup(input.markupBps, 'markupBps');
      try {
        return await inTransaction(ctx.sql, async (tx) => {
          const created = await createTenant(tx, {
            slug: input.slug,
            name: checkName(input.name, 'name'),
            markupBps,
            parentId: ctx.tenant.id,
          });
          // The domain is claimed for the new reseller; it serves the tenant once its admin proves it.
          if (input.customDomain?.trim())
            await claimNewTenantDomain(ctx, tx, created, input.customDomain, 'customDomain');
          const tenant = created;
          const admin = await createAccount(tx, {
            tenantId: tenant.id,
            email: input.adminEmail.trim(),
            role: 'admin',
            passwordHash,
          });
          return { tenant, admin };
        });
      } catch (error) {
        if (isUniqueViolation(error, 'tenants_slug_key')) throw invalidInput('slug', 'This slug is taken.');
        throw error;
      }
    },
  }),
);

builder.mutationField('setChildTenantStatus', (t) =>
  t.withAuth({ admin: true }).field({
    type: ChildTenantRef,
    description:
      "Suspends a child tenant (its customers' keys and sessions stop working, and those of every tenant below it) or reactivates it.",
    args: { id: t.arg.id({ required: true }), status: t.arg({ type: StatusEnum, required: true }) },
    resolve: async (_root, { id, status }, ctx) => {
      const child = await scopedChild(ctx, String(id));
      return (await setChildTenantStatus(ctx.sql, ctx.tenant.id, child.id, status)) ?? child;
    },
  }),
);

builder.mutationField('adjustWholesaleCredit', (t) =>
  t.withAuth({ admin: true }).field({
    type: AdjustmentResultRef,
    description: "Adds to (or takes back from) a child tenant's prepaid wholesale credit, with a reason.",
    args: { childTenantId: t.arg.id({ required: true }), input: t.arg({ type: AdjustmentInput, required: true }) },
    resolve: async (_root, { childTenantId, input }, ctx) => {
      const child = await scopedChild(ctx, String(childTenantId));
      const walletId = await tenantWalletId(ctx.sql, child.id, 'reseller');
      return applyAdjustment(ctx, { walletId, subject: `tenant:${child.id}` }, ctx.tenant.id, input);
    },
  }),
);
