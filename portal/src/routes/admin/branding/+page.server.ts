import { gql } from '$lib/server/api';
import { failure, fields, invalid } from '$lib/server/forms';
import type { Actions, PageServerLoad } from './$types';

const COLOR = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;
const HTTP_URL = /^https?:\/\/\S+$/i;

const BRANDING_FIELDS = ['name', 'logoUrl', 'primaryColor', 'secondaryColor', 'supportEmail', 'apiUrl', 'headline', 'tagline'] as const;
type BrandingFields = Record<(typeof BRANDING_FIELDS)[number], string | null>;

/** A claimed domain waiting for its proof: what to publish, and what the last check found. */
type PendingClaim = { domain: string; token: string; dnsRecordName: string; httpUrl: string; lastError: string | null; checkedAt: string | null };

const LOAD = `query Branding {
  tenant {
    branding { ${BRANDING_FIELDS.join(' ')} publicApiUrl }
    domainClaim { domain token dnsRecordName httpUrl lastError checkedAt }
  }
}`;

export const load: PageServerLoad = async (event) => {
  const { tenant } = await gql<{ tenant: { branding: BrandingFields & { publicApiUrl: string | null }; domainClaim: PendingClaim | null } }>(event, LOAD);
  return { current: tenant.branding, claim: tenant.domainClaim };
};

export const actions: Actions = {
  branding: async (event) => {
    const values = await fields(event.request, BRANDING_FIELDS);
    if (values.primaryColor && !COLOR.test(values.primaryColor)) return invalid('primaryColor', 'Use a hex colour like #4f46e5.', values, 'branding');
    if (values.secondaryColor && !COLOR.test(values.secondaryColor)) return invalid('secondaryColor', 'Use a hex colour like #0ea5e9.', values, 'branding');
    if (values.logoUrl && !HTTP_URL.test(values.logoUrl)) return invalid('logoUrl', 'The logo must be an http(s) address of an image.', values, 'branding');
    if (values.apiUrl && !HTTP_URL.test(values.apiUrl)) return invalid('apiUrl', 'The API URL must be an http(s) address, like https://api.example.com.', values, 'branding');
    const input = Object.fromEntries(Object.entries(values).map(([name, value]) => [name, value || null]));
    try {
      await gql(event, 'mutation Branding($input: BrandingInput!) { updateBranding(input: $input) { id } }', { input });
      return { action: 'branding', done: 'Branding saved. Every page shows it from now on.' };
    } catch (error) {
      return failure(error, values, 'branding');
    }
  },
  domain: async (event) => {
    const { domain } = await fields(event.request, ['domain'] as const);
    try {
      await gql(event, 'mutation Domain($domain: String) { setCustomDomain(domain: $domain) { id } }', { domain: domain.toLowerCase() || null });
      return {
        action: 'domain',
        done: domain ? `${domain.toLowerCase()} is claimed. Publish the proof below, then verify it: until then nothing changes.` : 'Custom domain removed.',
      };
    } catch (error) {
      return failure(error, { domain }, 'domain');
    }
  },
  verify: async (event) => {
    try {
      const { verifyCustomDomain } = await gql<{ verifyCustomDomain: { customDomain: string | null } }>(event, 'mutation VerifyDomain { verifyCustomDomain { customDomain } }');
      return { action: 'verify', done: `${verifyCustomDomain.customDomain} is proved: the portal and API answer there for your customers once its DNS points here.` };
    } catch (error) {
      return failure(error, {}, 'verify');
    }
  },
  name: async (event) => {
    const { name } = await fields(event.request, ['name'] as const);
    if (!name) return invalid('name', 'The tenant needs a name.', { name }, 'name');
    try {
      await gql(event, 'mutation TenantName($name: String!) { updateTenant(name: $name) { id } }', { name });
      return { action: 'name', done: 'Tenant name saved.' };
    } catch (error) {
      return failure(error, { name }, 'name');
    }
  },
};
