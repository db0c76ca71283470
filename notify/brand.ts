import type { Tenant } from '../db/queries/tenants.ts';

/**
 * What a tenant's e-mails look like and where their links point: the tenant's branding (name,
 * colours, logo, support address), its sender, and its portal: the tenant's custom domain when it
 * has one (that is where its customers sign in), else the portal URL of the installation.
 */

export type Brand = {
  name: string;
  primaryColor: string;
  logoUrl: string | null;
  supportEmail: string | null;
  /** The portal's origin, without a trailing slash; every link in a message starts with it. */
  portalUrl: string;
  /** The From header: the tenant's sender, else the installation's address under the tenant's name. */
  from: { name: string; address: string };
};

const DEFAULT_PRIMARY_COLOR = '#2563eb';
/** Only a plain hex colour reaches a style attribute; anything else there could break out of it. */
const COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
const HTTP_URL = /^https?:\/\/[^\s"'<>]{1,2000}$/;

const NAMED_ADDRESS = /^\s*"?([^"<>]*?)"?\s*<([^<>\s]+)>\s*$/;

/** Splits `Acme <ops@acme.test>` (or a bare address) into its name and address. */
function parseAddress(text: string): { name: string | null; address: string } {
  const named = NAMED_ADDRESS.exec(text);
  if (named?.[2]) return { name: named[1]?.trim() || null, address: named[2] };
  return { name: null, address: text.trim() };
}

function pick(tenant: Tenant, key: string): string | null {
  const value = tenant.branding[key];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

export function brandOf(tenant: Tenant, sender: string | null, defaults: { portalUrl: string; from: string }): Brand {
  const name = pick(tenant, 'name') ?? tenant.name;
  const color = pick(tenant, 'primaryColor');
  const logo = pick(tenant, 'logoUrl');
  return {
    name,
    primaryColor: color && COLOR.test(color) ? color : DEFAULT_PRIMARY_COLOR,
    logoUrl: logo && HTTP_URL.test(logo) ? logo : null,
    supportEmail: pick(tenant, 'supportEmail'),
    portalUrl: tenant.customDomain ? `https://${tenant.customDomain}` : defaults.portalUrl,
    from: sender
      ? { name: parseAddress(sender).name ?? name, address: parseAddress(sender).address }
      : {
          name,
          address: parseAddress(defaults.from).address,
        },
  };
}
