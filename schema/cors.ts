import { findTenantCors, setTenantCors, type CorsOrigins } from '../db/queries/cors-origins.ts';
import { MAX_CORS_ORIGINS, parseOrigins } from '../cors/policies.ts';
import { builder } from './builder.ts';
import { invalidInput } from './errors.ts';
import { TenantRef } from './tenant.ts';

/**
 * The browser origins a tenant allows (cors/policies.ts applies them): extra origins for /graphql
 * with credentials, and the only origins its keys may be used from on /v1 (none listed: any).
 */

const CorsOriginsRef = builder.objectRef<CorsOrigins>('CorsOrigins').implement({
  description: 'Browser origins (scheme://host[:port]) this tenant allows; changes apply within 2 seconds.',
  fields: (t) => ({
    graphql: t.exposeStringList('graphql', {
      description: 'Besides the portal, the gateway and the custom domain, these may call /graphql with credentials.',
    }),
    api: t.exposeStringList('api', {
      description:
        "The only origins a browser may use this tenant's API keys from on /v1; empty allows any origin (without credentials).",
    }),
  }),
});

builder.objectField(TenantRef, 'corsOrigins', (t) =>
  t.field({
    type: CorsOriginsRef,
    authScopes: { admin: true },
    resolve: async (tenant, _args, ctx) => (await findTenantCors(ctx.sql, tenant.id)) ?? { graphql: [], api: [] },
  }),
);

function checked(list: readonly string[] | null | undefined, field: string): string[] | undefined {
  if (list === null || list === undefined) return undefined;
  const parsed = parseOrigins(list);
  if ('invalid' in parsed)
    throw invalidInput(field, `"${parsed.invalid}" is not an origin like https://app.example.com (no path).`);
  if ('tooMany' in parsed) throw invalidInput(field, `At most ${MAX_CORS_ORIGINS} origins.`);
  return parsed.origins;
}

builder.mutationField('setCorsOrigins', (t) =>
  t.withAuth({ admin: true }).field({
    type: TenantRef,
    description: "Replaces the caller's tenant's allowed browser origins; a list left out keeps its value.",
    args: { graphql: t.arg.stringList({ required: false }), api: t.arg.stringList({ required: false }) },
    resolve: async (_root, args, ctx) => {
      await setTenantCors(ctx.sql, ctx.tenant.id, {
        graphql: checked(args.graphql, 'graphql'),
        api: checked(args.api, 'api'),
      });
      return ctx.tenant;
    },
  }),
);
