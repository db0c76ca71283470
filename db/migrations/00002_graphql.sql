-- Sign-in sessions and integrators' management tokens for the GraphQL management API.
-- Only a SHA-256 of each token is stored: the token itself is shown once and never again.

create table sessions (
  id uuid primary key default gen_random_uuid(),
  account_id uuid not null references accounts(id),
  token_hash bytea not null unique,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  check (expires_at > created_at)
);
create index sessions_account on sessions (account_id);
create index sessions_expiry on sessions (expires_at);

create table management_tokens (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id),
  created_by uuid not null references accounts(id),
  public_id text not null unique,
  token_hash bytea not null unique,
  name text not null default '' check (length(name) <= 200),
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz
);
create index management_tokens_tenant on management_tokens (tenant_id, created_at desc);

-- The admin's customer list is paged newest first within a tenant.
create index accounts_tenant_created on accounts (tenant_id, created_at desc, id desc);
