import { gql } from '$lib/server/api';
import { failure, fields, invalid } from '$lib/server/forms';
import type { Actions, PageServerLoad } from './$types';

const COLOR = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;
const HTTP_URL = /^https?:\/\/\S+$/i;

export const load: PageServerLoad = async (event) => {
  const { tenant } = await gql<{ tenant: { branding: { name: string; logoUrl: string | null; primaryColor: string | null; secondaryColor: string | null; supportEmail: string | null } } }>(
    event,
    'query Branding { tenant { branding { name logoUrl primaryColor secondaryColor supportEmail } } }',
  );
  return { current: tenant.branding };
};

export const actions: Actions = {
  branding: async (event) => {
    const values = await fields(event.request, ['name', 'logoUrl', 'primaryColor', 'secondaryColor', 'supportEmail'] as const);
    if (values.primaryColor && !COLOR.test(values.primaryColor)) return invalid('primaryColor', 'Use a hex colour like #4f46e5.', values, 'branding');
    if (values.secondaryColor && !COLOR.test(values.secondaryColor)) return invalid('secondaryColor', 'Use a hex colour like #0ea5e9.', values, 'branding');
    if (values.logoUrl && !HTTP_URL.test(values.logoUrl)) return invalid('logoUrl', 'The logo must be an http(s) address of an image.', values, 'branding');
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
      await gql(event, 'mutation Domain($domain: String) { setCustomDomain(domain: $domain) { customDomain } }', { domain: domain.toLowerCase() || null });
      return { action: 'domain', done: domain ? `The portal and API now answer at ${domain.toLowerCase()} once its DNS points here.` : 'Custom domain removed.' };
    } catch (error) {
      return failure(error, { domain }, 'domain');
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
