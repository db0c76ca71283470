-- A tenant's custom domain takes effect only once the tenant has proved it controls the domain
-- (schema/domain.ts): setCustomDomain records a claim with a random token; verifyCustomDomain
-- finds the token in a DNS TXT record at _tollgate-verify.<domain> or at
-- http://<domain>/.well-known/tollgate-verify/<token>, and only then copies the domain to
-- tenants.custom_domain, which is all that routing reads. Domains set before this migration stay
-- in effect; whatever the table holds, the operator's own hosts never route to another tenant.
create table domain_claims (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id),
  domain text not null check (domain = lower(domain) and length(domain) between 1 and 253),
  token text not null check (token ~ '^[0-9a-f]{32,64}$'),
  created_at timestamptz not null default now(),
  checked_at timestamptz,
  check_error text check (length(check_error) <= 500),
  verified_at timestamptz,
  verified_by text check (verified_by in ('dns', 'http')),
  check ((verified_at is null) = (verified_by is null))
);
-- One pending claim per tenant: claiming another domain replaces it.
create unique index domain_claims_pending on domain_claims (tenant_id) where verified_at is null;
create index domain_claims_by_domain on domain_claims (domain);
create index domain_claims_newest on domain_claims (created_at, id);
