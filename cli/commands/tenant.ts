import { findTenantCors, setTenantCors } from '../../db/queries/cors-origins.ts';
import { setCustomDomain, updateTenantSettings } from '../../db/queries/tenant-admin.ts';
import { createTenant, findTenant, listTenants, type Tenant } from '../../db/queries/tenants.ts';
import { MAX_CORS_ORIGINS, parseOrigins } from '../../cors/policies.ts';
import { optionalString, requiredString, strings, type ParsedArgs } from '../args.ts';
import { UsageError } from '../errors.ts';
import { fields, formatDate, formatPercent, table } from '../format.ts';
import { tenantOption } from '../resolve.ts';
import { displayName, domain, markupPercent, slug } from '../values.ts';
import { domainOfAnotherTenant } from '../../db/queries/domain-claims.ts';
import { reservedHosts } from '../../schema/domain-check.ts';
import type { Command, Session } from '../command.ts';

/**
 * The operator sets a domain without the DNS proof a reseller must give (they control both), but
 * not one of the installation's own hosts, which would hand a tenant the operator's portal or API,
 * nor one that another tenant serves.
 */
async function checkOperatorDomain(session: Session, command: string, tenantId: string | null, host: string) {
  if (reservedHosts(session.config).has(host))
    throw new UsageError(
      `${command}: ${host} is one of this installation's own hosts (PUBLIC_URL, PORTAL_URL or TOLLGATE_RESERVED_DOMAINS)`,
    );
  if (await domainOfAnotherTenant(session.db.sql, tenantId ?? '00000000-0000-0000-0000-000000000000', host))
    throw new UsageError(`${command}: another tenant already uses this domain (${host})`);
}

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
    'markup-percent': {
      type: 'string',
      value: 'PCT',
      help: "markup this tenant adds to its parent's price (default: the parent's markup)",
    },
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
      if (customDomain !== null) await checkOperatorDomain(session, CREATE, null, customDomain);
      const tenant = await createTenant(session.db.sql, {
        slug: tenantSlug,
        name,
        parentId: parent.id,
        markupBps: markupBps ?? parent.markupBps,
        customDomain,
      });
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
    const rows = tenants.map((t) => [
      t.slug,
      t.name,
      parentSlug(t) ?? '-',
      `${formatPercent(t.markupBps)}%`,
      t.customDomain ?? '-',
      t.status,
      formatDate(t.createdAt),
      t.id,
    ]);
    return {
      json: { tenants: tenants.map((tenant) => tenantJson(tenant, parentSlug(tenant))) },
      text: table(['SLUG', 'NAME', 'PARENT', 'MARKUP', 'DOMAIN', 'STATUS', 'CREATED', 'ID'], rows, 'no tenants'),
    };
  },
};

const SET = 'tenant set';
/** Typed instead of a value to remove a custom domain or empty an origin list. */
const NONE = 'none';

/** Repeated origins replace the list; `none` alone empties it; left out, the list is kept. */
function originList(args: ParsedArgs, option: string): string[] | undefined {
  const given = strings(args, option);
  if (given.length === 0) return undefined;
  if (given.length === 1 && given[0] === NONE) return [];
  const parsed = parseOrigins(given);
  if ('invalid' in parsed)
    throw new UsageError(
      `${SET}: --${option} must be an origin like https://app.example.com (no path), got "${parsed.invalid}"`,
    );
  if ('tooMany' in parsed) throw new UsageError(`${SET}: at most ${MAX_CORS_ORIGINS} --${option} values`);
  return parsed.origins;
}

export const tenantSetCommand: Command = {
  name: SET,
  summary: "change a tenant's name, markup, custom domain or allowed browser origins (what is not given is kept)",
  options: {
    tenant: { type: 'string', value: 'SLUG|ID', help: 'the tenant to change (default: root)' },
    name: { type: 'string', value: 'NAME', help: 'display name' },
    'markup-percent': { type: 'string', value: 'PCT', help: "markup this tenant adds to its parent's price" },
    domain: { type: 'string', value: `HOST|${NONE}`, help: 'custom domain the tenant is served on' },
    'graphql-origin': {
      type: 'string',
      multiple: true,
      value: `ORIGIN|${NONE}`,
      help: 'a browser origin allowed on /graphql with credentials, besides the portal (repeatable; replaces the list)',
    },
    'api-origin': {
      type: 'string',
      multiple: true,
      value: `ORIGIN|${NONE}`,
      help: "the only browser origins the tenant's keys work from on /v1 (repeatable; replaces the list; none: any origin)",
    },
  },
  prepare: (args) => {
    const tenantRef = optionalString(args, 'tenant');
    const nameText = optionalString(args, 'name');
    const name = nameText === undefined ? undefined : displayName(SET, 'name', nameText);
    const markupText = optionalString(args, 'markup-percent');
    const markupBps = markupText === undefined ? undefined : markupPercent(SET, 'markup-percent', markupText);
    const domainText = optionalString(args, 'domain');
    const customDomain = domainText === undefined ? undefined : domainText === NONE ? null : domain(SET, domainText);
    const origins = { graphql: originList(args, 'graphql-origin'), api: originList(args, 'api-origin') };
    if ([name, markupBps, customDomain, origins.graphql, origins.api].every((value) => value === undefined)) {
      throw new UsageError(
        `${SET}: nothing to change (give --name, --markup-percent, --domain, --graphql-origin or --api-origin)`,
      );
    }
    return async (session) => {
      const sql = session.db.sql;
      const found = await tenantOption(session, SET, tenantRef);
      if (customDomain) await checkOperatorDomain(session, SET, found.id, customDomain);
      let tenant = (await updateTenantSettings(sql, found.id, { name, markupBps })) ?? found;
      if (customDomain !== undefined) tenant = (await setCustomDomain(sql, tenant.id, customDomain)) ?? tenant;
      if (origins.graphql !== undefined || origins.api !== undefined) await setTenantCors(sql, tenant.id, origins);
      const cors = (await findTenantCors(sql, tenant.id)) ?? { graphql: [], api: [] };
      const parent = tenant.parentId === null ? undefined : await findTenant(sql, tenant.parentId);
      const text = fields([
        ['tenant', tenant.slug],
        ['name', tenant.name],
        ['markup', `${formatPercent(tenant.markupBps)}%`],
        ['domain', tenant.customDomain ?? '-'],
        ['graphql origins', cors.graphql.join(' ') || '(portal only)'],
        ['api origins', cors.api.join(' ') || '(any)'],
      ]);
      return {
        json: { ...tenantJson(tenant, parent?.slug ?? null), corsOrigins: { graphql: cors.graphql, api: cors.api } },
        text,
      };
    };
  },
};
