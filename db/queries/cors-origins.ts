import type { Db } from '../sql.ts';

/** The browser origins a tenant allows, beyond the defaults (see cors/policies.ts). */

export type CorsOrigins = { graphql: string[]; api: string[] };
export type TenantCorsRow = CorsOrigins & { tenantId: string; customDomain: string | null };

type Row = { id: string; custom_domain: string | null; graphql_cors_origins: string[]; api_cors_origins: string[] };

function fromRow(row: Row): TenantCorsRow {
  return {
    tenantId: row.id,
    customDomain: row.custom_domain,
    graphql: row.graphql_cors_origins,
    api: row.api_cors_origins,
  };
}

export async function findTenantCors(db: Db, tenantId: string): Promise<TenantCorsRow | undefined> {
  const [row] = await db<
    Row[]
  >`select id, custom_domain, graphql_cors_origins, api_cors_origins from tenants where id = ${tenantId}::uuid`;
  return row ? fromRow(row) : undefined;
}

/** The tenant served on this host name, else the root tenant. */
export async function findHostCors(db: Db, host: string): Promise<TenantCorsRow | undefined> {
  const [row] = await db<Row[]>`
    select id, custom_domain, graphql_cors_origins, api_cors_origins from tenants
    where custom_domain = ${host.toLowerCase()} or parent_id is null
    order by custom_domain = ${host.toLowerCase()} desc nulls last limit 1`;
  return row ? fromRow(row) : undefined;
}

/** Replaces the lists given; a list left undefined keeps its value. */
export async function setTenantCors(
  db: Db,
  tenantId: string,
  origins: Partial<CorsOrigins>,
): Promise<TenantCorsRow | undefined> {
  const [row] = await db<Row[]>`
    update tenants set
      graphql_cors_origins = coalesce(${origins.graphql ?? null}::text[], graphql_cors_origins),
      api_cors_origins = coalesce(${origins.api ?? null}::text[], api_cors_origins)
    where id = ${tenantId}::uuid
    returning id, custom_domain, graphql_cors_origins, api_cors_origins`;
  return row ? fromRow(row) : undefined;
}
