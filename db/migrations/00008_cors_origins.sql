-- Browser origins a tenant allows beyond the defaults (cors/policies.ts):
-- graphql_cors_origins may call /graphql with credentials besides the portal, the gateway's own
-- origin and the tenant's custom domain; api_cors_origins, when not empty, are the only origins a
-- browser may call /v1 from with this tenant's keys (empty: any origin, without credentials).
alter table tenants
  add column graphql_cors_origins text[] not null default '{}' check (cardinality(graphql_cors_origins) <= 50),
  add column api_cors_origins text[] not null default '{}' check (cardinality(api_cors_origins) <= 50);
