import { createTenant, listTenants, type Tenant } from '../../db/queries/tenants.ts';
import { optionalString, requiredString } from '../args.ts';
import type { Command } from '../command.ts';
import { fields, formatDate, formatPercent, table } from '../format.ts';
import { tenantOption } from '../resolve.ts';
import { displayName, domain, markupPercent, slug } from '../values.ts';

function tenantJson(tenant: Tenant, parentSlug: string | null) {
  return {
    id: tenant.id,
    slug: tenant.slug,
    name: tenant.name,
    parentId: tenant.parentId,
    parentSlug,
    markupBps: tenant.markupBps,
    markupPercent: formatPercent(tenant.markupBps),
    customDomain: tenant.customDomain,
    status: tenant.status,
    createdAt: tenant.createdAt,
  };
}

const CREATE = 'tenant create';

export const tenantCreateCommand: Command = {
  name: CREATE,
  summary: 'create a white-label tenant under a parent tenant (default: the root tenant)',
  options: {
    slug: { type: 'string', value: 'SLUG', help: 'short unique name: lowercase letters, digits, dashes (required)' },
    name: { type: 'string', value: 'NAME', help: 'display name (required)' },
    parent: { type: 'string', value: 'SLUG|ID', help: 'parent tenant (default: root)' },
    'markup-percent': { type: 'string', value: 'PCT', help: "markup this tenant adds to its parent's price (default: the parent's markup)" },
    domain: { type: 'string', value: 'HOST', help: 'custom domain the tenant is served on' },
  },
  prepare: (args) => {
    const tenantSlug = slug(CREATE, requiredString(args, 'slug'));
    const name = displayName(CREATE, 'name', requiredString(args, 'name'));
    const parentRef = optionalString(args, 'parent');
    const markupText = optionalString(args, 'markup-percent');
    const markupBps = markupText === undefined ? undefined : markupPercent(CREATE, 'markup-percent', markupText);
    const domainText = optionalString(args, 'domain');
    const customDomain = domainText === undefined ? null : domain(CREATE, domainText);
    return async (session) => {
      const parent = await tenantOption(session, CREATE, parentRef);
      const tenant = await createTenant(session.db.sql, { slug: tenantSlug, name, parentId: parent.id, markupBps: markupBps ?? parent.markupBps, customDomain });
      const text = fields([
        ['created tenant', tenant.slug],
        ['id', tenant.id],
        ['name', tenant.name],
        ['parent', parent.slug],
        ['markup', `${formatPercent(tenant.markupBps)}%`],
        ['domain', tenant.customDomain ?? '-'],
      ]);
      return { json: tenantJson(tenant, parent.slug), text };
    };
  },
};

export const tenantListCommand: Command = {
  name: 'tenant list',
  summary: 'list every tenant, the root first',
  options: {},
  prepare: () => async (session) => {
    const tenants = await listTenants(session.db.sql);
    const slugs = new Map(tenants.map((tenant) => [tenant.id, tenant.slug]));
    const parentSlug = (tenant: Tenant) => (tenant.parentId === null ? null : (slugs.get(tenant.parentId) ?? null));
    const rows = tenants.map((t) => [t.slug, t.name, parentSlug(t) ?? '-', `${formatPercent(t.markupBps)}%`, t.customDomain ?? '-', t.status, formatDate(t.createdAt), t.id]);
    return {
      json: { tenants: tenants.map((tenant) => tenantJson(tenant, parentSlug(tenant))) },
      text: table(['SLUG', 'NAME', 'PARENT', 'MARKUP', 'DOMAIN', 'STATUS', 'CREATED', 'ID'], rows, 'no tenants'),
    };
  },
};
