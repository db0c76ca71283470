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

const BRANDING_KEYS = [
  'name',
  'primaryColor',
  'secondaryColor',
  'logoUrl',
  'supportEmail',
  'apiUrl',
  'headline',
  'tagline',
] as const;
type BrandingKey = (typeof BRANDING_KEYS)[number];
type Branding = Record<BrandingKey, string | null>;
/** What customers are shown: the branding as set, and the API address they call. */
type ShownBranding = Branding & { publicApiUrl: string | null };

function brandingOf(tenant: Tenant): ShownBranding {
  const pick = (key: BrandingKey) => {
    const value = tenant.branding[key];
    return typeof value === 'string' ? value : null;
  };
  const branding = Object.fromEntries(BRANDING_KEYS.map((key) => [key, pick(key)])) as Branding;
  // A reseller on its own proved domain serves its API there too (the domain routes /v1 to the gateway).
  const domainUrl = tenant.customDomain ? `https://${tenant.customDomain}` : null;
  return { ...branding, name: branding.name ?? tenant.name, publicApiUrl: branding.apiUrl ?? domainUrl };
}

const BrandingRef = builder.objectRef<ShownBranding>('Branding').implement({
  fields: (t) => ({
    name: t.string({
      description: "The name shown to customers; the tenant's name unless set.",
      resolve: (b) => b.name ?? '',
    }),
    primaryColor: t.exposeString('primaryColor', { nullable: true }),
    secondaryColor: t.exposeString('secondaryColor', { nullable: true }),
    logoUrl: t.exposeString('logoUrl', { nullable: true }),
    supportEmail: t.exposeString('supportEmail', { nullable: true }),
    apiUrl: t.exposeString('apiUrl', {
      nullable: true,
      description: 'The API base URL (without /v1) set for customers; null: derived, see publicApiUrl.',
    }),
    publicApiUrl: t.exposeString('publicApiUrl', {
      nullable: true,
      description:
        'The API base URL (without /v1) customers are shown: apiUrl, else https:// and the proved custom domain; ' +
        "null: the installation's own.",
    }),
    headline: t.exposeString('headline', {
      nullable: true,
      description: "The home page's heading; null: the default.",
    }),
    tagline: t.exposeString('tagline', {
      nullable: true,
      description: "The paragraph under the home page's heading; null: the default.",
    }),
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

/** Limits of the home page's texts, so a pasted essay cannot stretch the page. */
const MAX_HEADLINE_LENGTH = 120;
const MAX_TAGLINE_LENGTH = 500;

function checkText(text: string | null, field: string, maxLength: number): void {
  if (text === null) return;
  if (text.length > maxLength) throw invalidInput(field, `At most ${maxLength} characters.`);
  if (hasControlCharacter(text)) throw invalidInput(field, 'The text cannot contain control characters.');
}

/** An http(s) base URL without a trailing slash or /v1, which the portal adds to it. */
function checkApiUrl(raw: string | null): string | null {
  if (raw === null) return null;
  const url = raw.replace(/\/+$/, '').replace(/\/v1$/, '');
  const parsed = url.length <= 2000 && !/\s/.test(url) && URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed || !/^https?:$/.test(parsed.protocol))
    throw invalidInput('apiUrl', 'The API URL must be an http(s) URL such as https://api.example.com.');
  // Every customer is told to send their keys here: no credentials, query or fragment ride along.
  if (parsed.username || parsed.password || parsed.search || parsed.hash)
    throw invalidInput('apiUrl', 'The API URL takes no user, password, query or fragment.');
  return url;
}

function checkBranding(input: Partial<Record<BrandingKey, string | null | undefined>>): Branding {
  const value = (key: BrandingKey) => input[key]?.trim() || null;
  const branding = Object.fromEntries(BRANDING_KEYS.map((key) => [key, value(key)])) as Branding;
  branding.apiUrl = checkApiUrl(branding.apiUrl);
  checkText(branding.headline, 'headline', MAX_HEADLINE_LENGTH);
  checkText(branding.tagline, 'tagline', MAX_TAGLINE_LENGTH);
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
    apiUrl: t.string({
      required: false,
      description: 'The API base URL customers are shown (without /v1); unset: https:// and the custom domain.',
    }),
    headline: t.string({
      required: false,
      description: `The home page's heading, up to ${MAX_HEADLINE_LENGTH} characters.`,
    }),
    tagline: t.string({
      required: false,
      description: `The home page's paragraph, up to ${MAX_TAGLINE_LENGTH} characters.`,
    }),
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
