import { tenantWalletId, type Tenant } from '../db/queries/tenants.ts';
import { setBranding, updateTenantSettings } from '../db/queries/tenant-admin.ts';
import { walletBalance } from '../db/queries/transfers.ts';
import { BalanceRef, StatusEnum } from './account.ts';
import { builder } from './builder.ts';
import { invalidInput } from './errors.ts';
import { MAX_EMAIL_LENGTH } from './text-input.ts';

/**
 * The caller's tenant: public branding for anyone (a white-label portal shows it on its sign-in
 * page), settings and the custom domain for its admins.
 */

type BrandingKey = 'name' | 'primaryColor' | 'secondaryColor' | 'logoUrl' | 'supportEmail';
type Branding = Record<BrandingKey, string | null>;

function brandingOf(tenant: Tenant): Branding {
  const pick = (key: BrandingKey) => {
    const value = tenant.branding[key];
    return typeof value === 'string' ? value : null;
  };
  return {
    name: pick('name') ?? tenant.name,
    primaryColor: pick('primaryColor'),
    secondaryColor: pick('secondaryColor'),
    logoUrl: pick('logoUrl'),
    supportEmail: pick('supportEmail'),
  };
}

const BrandingRef = builder.objectRef<Branding>('Branding').implement({
  fields: (t) => ({
    name: t.string({
      description: "The name shown to customers; the tenant's name unless set.",
      resolve: (b) => b.name ?? '',
    }),
    primaryColor: t.exposeString('primaryColor', { nullable: true }),
    secondaryColor: t.exposeString('secondaryColor', { nullable: true }),
    logoUrl: t.exposeString('logoUrl', { nullable: true }),
    supportEmail: t.exposeString('supportEmail', { nullable: true }),
  }),
});

export const TenantRef = builder.objectRef<Tenant>('Tenant').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    slug: t.exposeString('slug'),
    name: t.exposeString('name'),
    branding: t.field({ type: BrandingRef, resolve: brandingOf }),
    markupBps: t.exposeInt('markupBps', {
      authScopes: { admin: true },
      description: 'Default markup over what this tenant pays, in basis points (2000 = 20%).',
    }),
    customDomain: t.exposeString('customDomain', {
      nullable: true,
      authScopes: { admin: true },
      description: 'The host name this tenant is served at, once proved (see domainClaim); null for none.',
    }),
    status: t.field({ type: StatusEnum, authScopes: { admin: true }, resolve: (tenant) => tenant.status }),
    isRoot: t.boolean({ authScopes: { admin: true }, resolve: (tenant) => tenant.parentId === null }),
    wholesaleBalance: t.field({
      type: BalanceRef,
      nullable: true,
      authScopes: { admin: true },
      description: "A reseller's prepaid credit at its parent, which its customers' usage draws on; null for the root.",
      resolve: async (tenant, _args, ctx) =>
        tenant.parentId === null
          ? null
          : ((await walletBalance(ctx.sql, await tenantWalletId(ctx.sql, tenant.id, 'reseller'))) ?? null),
    }),
    createdAt: t.field({ type: 'DateTime', authScopes: { admin: true }, resolve: (tenant) => tenant.createdAt }),
  }),
});

builder.queryField('tenant', (t) =>
  t.field({
    type: TenantRef,
    description: "The caller's tenant: their own when signed in, else the one this host belongs to.",
    resolve: (_root, _args, ctx) => ctx.tenant,
  }),
);

const MAX_MARKUP_BPS = 1_000_000;

export function checkMarkup(markupBps: number, field: string): number {
  if (!Number.isInteger(markupBps) || markupBps < 0 || markupBps > MAX_MARKUP_BPS)
    throw invalidInput(field, `Markup must be 0 to ${MAX_MARKUP_BPS} basis points.`);
  return markupBps;
}

/** C0 controls and DEL: a name is shown in pages, e-mails and CSV exports, where they only do harm. */
function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

export function checkName(name: string, field: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 200) throw invalidInput(field, 'A name has 1 to 200 characters.');
  if (hasControlCharacter(trimmed)) throw invalidInput(field, 'A name cannot contain control characters.');
  return trimmed;
}

builder.mutationField('updateTenant', (t) =>
  t.withAuth({ admin: true }).field({
    type: TenantRef,
    args: { name: t.arg.string({ required: false }), markupBps: t.arg.int({ required: false }) },
    resolve: async (_root, args, ctx) => {
      const settings = {
        name: args.name === null || args.name === undefined ? undefined : checkName(args.name, 'name'),
        markupBps:
          args.markupBps === null || args.markupBps === undefined
            ? undefined
            : checkMarkup(args.markupBps, 'markupBps'),
      };
      return (await updateTenantSettings(ctx.sql, ctx.tenant.id, settings)) ?? ctx.tenant;
    },
  }),
);

const COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

function checkBranding(input: Partial<Record<BrandingKey, string | null | undefined>>): Branding {
  const value = (key: BrandingKey) => input[key]?.trim() || null;
  const branding: Branding = {
    name: value('name'),
    primaryColor: value('primaryColor'),
    secondaryColor: value('secondaryColor'),
    logoUrl: value('logoUrl'),
    supportEmail: value('supportEmail'),
  };
  if (branding.name && branding.name.length > 100) throw invalidInput('name', 'At most 100 characters.');
  for (const key of ['primaryColor', 'secondaryColor'] as const) {
    const color = branding[key];
    if (color && !COLOR.test(color)) throw invalidInput(key, 'A colour is #rgb or #rrggbb.');
  }
  if (branding.logoUrl && !/^https?:\/\/[^\s]{1,2000}$/.test(branding.logoUrl))
    throw invalidInput('logoUrl', 'The logo URL must be an http(s) URL.');
  if (branding.supportEmail && (branding.supportEmail.length > MAX_EMAIL_LENGTH || !EMAIL.test(branding.supportEmail)))
    throw invalidInput('supportEmail', 'Not an e-mail address.');
  return branding;
}

const BrandingInput = builder.inputType('BrandingInput', {
  description: 'The whole branding: fields left out or null are cleared.',
  fields: (t) => ({
    name: t.string({ required: false }),
    primaryColor: t.string({ required: false }),
    secondaryColor: t.string({ required: false }),
    logoUrl: t.string({ required: false }),
    supportEmail: t.string({ required: false }),
  }),
});

builder.mutationField('updateBranding', (t) =>
  t.withAuth({ admin: true }).field({
    type: TenantRef,
    args: { input: t.arg({ type: BrandingInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      (await setBranding(ctx.sql, ctx.tenant.id, checkBranding(input))) ?? ctx.tenant,
  }),
);
