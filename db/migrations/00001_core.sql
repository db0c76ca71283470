-- Tenants, accounts, keys, the ledger, usage, pricing, limits and the model catalog.
-- Money is always bigint nano-dollars (1 USD = 1_000_000_000); markups are basis points.

create table instance_secrets (
  name text primary key,
  value text not null,
  created_at timestamptz not null default now()
);

create table tenants (
  id uuid primary key default gen_random_uuid(),
  parent_id uuid references tenants(id),
  slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name text not null check (length(name) between 1 and 200),
  markup_bps integer not null check (markup_bps between 0 and 1000000),
  custom_domain text unique,
  branding jsonb not null default '{}'::jsonb,
  status text not null default 'active' check (status in ('active', 'suspended')),
  created_at timestamptz not null default now(),
  check (parent_id is distinct from id)
);
-- Exactly one root (the operator's tenant); every other tenant sits under a parent.
create unique index tenants_single_root on tenants ((parent_id is null)) where parent_id is null;

create table accounts (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id),
  email text not null check (email ~ '^[^@\s]+@[^@\s]+$'),
  role text not null default 'customer' check (role in ('customer', 'admin', 'operator')),
  status text not null default 'active' check (status in ('active', 'suspended')),
  display_name text,
  password_hash text,
  clerk_user_id text unique,
  created_at timestamptz not null default now()
);
create unique index accounts_tenant_email on accounts (tenant_id, lower(email));

create table api_keys (
  id uuid primary key default gen_random_uuid(),
  account_id uuid not null references accounts(id),
  public_id text not null unique,
  hash bytea not null unique,
  name text not null default '' check (length(name) <= 200),
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz,
  credit_cap_nanos bigint check (credit_cap_nanos >= 0),
  -- Cached projections of this key's holds and posted charges, used to enforce the cap atomically.
  spent_nanos bigint not null default 0,
  held_nanos bigint not null default 0 check (held_nanos >= 0),
  allowed_models text[]
);
create index api_keys_account on api_keys (account_id);

-- A wallet is one book of the ledger. Customer wallets belong to an account; a reseller wallet is
-- a tenant's prepaid wholesale credit at its parent; the rest are the operator's system books.
create table wallets (
  id bigint generated always as identity primary key,
  kind text not null check (kind in ('customer', 'reseller', 'revenue', 'upstream', 'clearing', 'promotion', 'adjustment')),
  account_id uuid unique references accounts(id),
  tenant_id uuid not null references tenants(id),
  -- Cached projections: paid/granted are sums of entries by funding, held is the sum of open holds.
  paid_nanos bigint not null default 0,
  granted_nanos bigint not null default 0,
  held_nanos bigint not null default 0 check (held_nanos >= 0),
  check ((kind = 'customer') = (account_id is not null))
);
create unique index wallets_tenant_book on wallets (tenant_id, kind) where kind <> 'customer';

create table transfers (
  id bigint generated always as identity primary key,
  kind text not null check (kind in ('purchase', 'usage', 'refund', 'dispute', 'dispute_won', 'adjustment', 'grant', 'subscription')),
  cause text not null check (length(cause) between 1 and 300),
  memo jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  -- Permanent de-duplication: a replayed cause can never apply twice.
  unique (kind, cause)
);

create table entries (
  id bigint generated always as identity primary key,
  transfer_id bigint not null references transfers(id),
  wallet_id bigint not null references wallets(id),
  funding text not null check (funding in ('paid', 'granted')),
  amount_nanos bigint not null,
  created_at timestamptz not null default now()
);
create index entries_wallet on entries (wallet_id, id);
create index entries_transfer on entries (transfer_id);

-- A hold reserves credit on one wallet for one request. It resolves exactly once (posted, voided
-- or expired); the trigger below makes every other change impossible.
create table holds (
  id bigint generated always as identity primary key,
  request_id text not null,
  wallet_id bigint not null references wallets(id),
  api_key_id uuid references api_keys(id),
  amount_nanos bigint not null check (amount_nanos >= 0),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  outcome text check (outcome in ('posted', 'voided', 'expired')),
  charged_nanos bigint,
  resolved_at timestamptz,
  unique (request_id, wallet_id),
  check ((outcome is null) = (resolved_at is null)),
  check (outcome = 'posted' or charged_nanos is null)
);
create index holds_open_by_expiry on holds (expires_at) where outcome is null;
create index holds_request on holds (request_id);

create table requests (
  id text primary key,
  tenant_id uuid not null references tenants(id),
  account_id uuid not null references accounts(id),
  api_key_id uuid references api_keys(id),
  route text not null,
  model text,
  stream boolean not null default false,
  status_code integer not null,
  outcome text not null check (outcome in ('completed', 'aborted', 'failed', 'refused')),
  error_code text,
  prompt_tokens integer not null default 0,
  completion_tokens integer not null default 0,
  prompt_tokens_bound integer,
  cost_nanos bigint not null default 0,
  charge_nanos bigint not null default 0,
  hold_nanos bigint not null default 0,
  estimated boolean not null default false,
  generation_id text,
  latency_ms integer,
  first_byte_ms integer,
  created_at timestamptz not null default now()
);
create index requests_account_time on requests (account_id, created_at desc);
create index requests_tenant_time on requests (tenant_id, created_at desc);
create index requests_key_time on requests (api_key_id, created_at desc);
create index requests_generation on requests (generation_id) where generation_id is not null;

-- One row per tenant level of a request: what that tenant charged below it and paid above it.
create table request_charges (
  request_id text not null,
  tenant_id uuid not null references tenants(id),
  revenue_nanos bigint not null,
  cost_nanos bigint not null,
  created_at timestamptz not null default now(),
  primary key (request_id, tenant_id)
);
create index request_charges_tenant_time on request_charges (tenant_id, created_at);

create table pricing_rules (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id),
  pattern text not null check (length(pattern) between 1 and 200),
  markup_bps integer not null check (markup_bps between 0 and 1000000),
  priority integer not null default 0,
  created_at timestamptz not null default now(),
  unique (tenant_id, pattern)
);

create table rate_limit_policies (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid references tenants(id),
  account_id uuid references accounts(id),
  api_key_id uuid references api_keys(id),
  requests_per_minute integer check (requests_per_minute > 0),
  requests_per_hour integer check (requests_per_hour > 0),
  tokens_per_minute integer check (tokens_per_minute > 0),
  concurrent_requests integer check (concurrent_requests > 0),
  spend_per_day_nanos bigint check (spend_per_day_nanos > 0),
  spend_per_month_nanos bigint check (spend_per_month_nanos > 0),
  updated_at timestamptz not null default now(),
  check (num_nonnulls(tenant_id, account_id, api_key_id) = 1)
);
create unique index rate_limit_policies_tenant on rate_limit_policies (tenant_id) where tenant_id is not null;
create unique index rate_limit_policies_account on rate_limit_policies (account_id) where account_id is not null;
create unique index rate_limit_policies_key on rate_limit_policies (api_key_id) where api_key_id is not null;

-- Prices are nano-dollars per million tokens (or per item), so sub-nano per-token prices stay exact.
create table models (
  id text primary key,
  name text not null,
  context_length integer,
  max_completion_tokens integer,
  prompt_nanos_per_mtok bigint not null check (prompt_nanos_per_mtok >= 0),
  completion_nanos_per_mtok bigint not null check (completion_nanos_per_mtok >= 0),
  request_nanos bigint not null default 0 check (request_nanos >= 0),
  image_nanos bigint not null default 0 check (image_nanos >= 0),
  description text,
  updated_at timestamptz not null default now()
);

create function forbid_ledger_rewrite() returns trigger language plpgsql as $$
begin
  raise exception 'ledger table % is append-only: write a reversing entry instead', tg_table_name
    using errcode = 'raise_exception';
end $$;

create trigger transfers_append_only before update or delete on transfers
  for each row execute function forbid_ledger_rewrite();
create trigger transfers_no_truncate before truncate on transfers
  for each statement execute function forbid_ledger_rewrite();
create trigger entries_append_only before update or delete on entries
  for each row execute function forbid_ledger_rewrite();
create trigger entries_no_truncate before truncate on entries
  for each statement execute function forbid_ledger_rewrite();
create trigger holds_no_truncate before truncate on holds
  for each statement execute function forbid_ledger_rewrite();

create function guard_hold_resolution() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    raise exception 'holds are never deleted' using errcode = 'raise_exception';
  end if;
  if old.outcome is not null then
    raise exception 'hold % is already %', old.id, old.outcome using errcode = 'raise_exception';
  end if;
  if new.outcome is null
     or (new.request_id, new.wallet_id, new.api_key_id, new.amount_nanos, new.created_at, new.expires_at)
        is distinct from (old.request_id, old.wallet_id, old.api_key_id, old.amount_nanos, old.created_at, old.expires_at) then
    raise exception 'a hold can only be resolved, not changed' using errcode = 'raise_exception';
  end if;
  return new;
end $$;

create trigger holds_resolve_once before update or delete on holds
  for each row execute function guard_hold_resolution();
