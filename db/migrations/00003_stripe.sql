-- Credit packs, Stripe payments, refunds and disputes, recorded Stripe events, auto top-up.
-- Prices are bigint nano-dollars in whole cents (Stripe charges integer cents: 1 cent = 10^7 nanos).

create table credit_packs (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id),
  name text not null check (length(name) between 1 and 100),
  -- What the customer pays: at least Stripe's 0.50 USD minimum, at most 100,000 USD, whole cents.
  price_nanos bigint not null check (price_nanos between 500000000 and 100000000000000 and price_nanos % 10000000 = 0),
  -- What the customer gets: the part up to the price is paid credit, anything above it bonus (granted).
  credit_nanos bigint not null check (credit_nanos > 0 and credit_nanos <= 1000000000000000),
  active boolean not null default true,
  sort_order integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, name)
);
create index credit_packs_tenant_order on credit_packs (tenant_id, sort_order, price_nanos);

-- A tenant that allows a custom amount has one row; no row means packs only.
create table custom_amount_ranges (
  tenant_id uuid primary key references tenants(id),
  minimum_nanos bigint not null check (minimum_nanos >= 500000000 and minimum_nanos % 10000000 = 0),
  maximum_nanos bigint not null check (maximum_nanos <= 100000000000000 and maximum_nanos % 10000000 = 0),
  updated_at timestamptz not null default now(),
  check (maximum_nanos >= minimum_nanos)
);

create function seed_default_credit_packs(tenant uuid) returns void language sql as $$
  insert into credit_packs (tenant_id, name, price_nanos, credit_nanos, sort_order) values
    (tenant, 'Starter', 10000000000, 10000000000, 10),
    (tenant, 'Pro', 45000000000, 50000000000, 20),
    (tenant, 'Enterprise', 160000000000, 200000000000, 30)
  on conflict (tenant_id, name) do nothing;
$$;

create function seed_default_credit_packs_trigger() returns trigger language plpgsql as $$
begin
  perform seed_default_credit_packs(new.id);
  return new;
end $$;

-- Every tenant starts with the default packs, however it is created (CLI, API, first start).
create trigger tenants_default_credit_packs after insert on tenants
  for each row execute function seed_default_credit_packs_trigger();
select seed_default_credit_packs(id) from tenants;

-- The Stripe customer of an account, and the card it saved for off-session auto top-up.
create table stripe_customers (
  account_id uuid primary key references accounts(id),
  customer_id text not null unique,
  payment_method_id text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- One row per attempt to buy credit. The Checkout Session (or, for auto top-up, the PaymentIntent)
-- is the business key a credit names: each is unique here and is the cause of its purchase transfer.
create table payments (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id),
  account_id uuid not null references accounts(id),
  kind text not null check (kind in ('checkout', 'auto_top_up')),
  pack_id uuid references credit_packs(id),
  description text not null check (length(description) between 1 and 200),
  price_nanos bigint not null check (price_nanos > 0 and price_nanos % 10000000 = 0),
  credit_nanos bigint not null check (credit_nanos > 0),
  status text not null default 'open' check (status in ('open', 'processing', 'paid', 'failed', 'expired', 'mismatch')),
  checkout_session_id text unique,
  payment_intent_id text unique,
  charge_id text unique,
  amount_paid_cents bigint check (amount_paid_cents > 0),
  receipt_url text,
  save_payment_method boolean not null default false,
  failure_reason text,
  created_at timestamptz not null default now(),
  paid_at timestamptz,
  updated_at timestamptz not null default now(),
  check ((status = 'paid') = (paid_at is not null)),
  check (status <> 'paid' or amount_paid_cents is not null)
);
create index payments_account_time on payments (account_id, created_at desc, id desc);
create index payments_tenant_time on payments (tenant_id, created_at desc, id desc);

-- Ties every ledger transfer of a payment (its credit, refunds, disputes and won disputes) to the
-- payment, with what it changed on the customer's wallet, so reversals can be bounded by the credit.
create table payment_transfers (
  transfer_id bigint primary key references transfers(id),
  payment_id uuid not null references payments(id),
  kind text not null check (kind in ('purchase', 'refund', 'dispute', 'dispute_won')),
  -- The Stripe object behind it: the session or intent, the refund (re_…), the dispute (dp_…).
  stripe_object_id text not null,
  paid_nanos bigint not null,
  granted_nanos bigint not null,
  created_at timestamptz not null default now(),
  unique (kind, stripe_object_id),
  check ((kind in ('purchase', 'dispute_won') and paid_nanos >= 0 and granted_nanos >= 0)
      or (kind in ('refund', 'dispute') and paid_nanos <= 0 and granted_nanos <= 0))
);
create index payment_transfers_payment on payment_transfers (payment_id, transfer_id);
-- A payment is credited at most once, whatever its transfers' causes.
create unique index payment_transfers_one_purchase on payment_transfers (payment_id) where kind = 'purchase';

-- Every Stripe event id ever received (webhook or missed-events sync), recorded in the same
-- transaction as its effects: a recorded event has been fully applied.
create table stripe_events (
  id text primary key,
  type text not null,
  stripe_created_at timestamptz not null,
  source text not null check (source in ('webhook', 'sync')),
  outcome text,
  payment_id uuid references payments(id),
  received_at timestamptz not null default now()
);
create index stripe_events_created on stripe_events (stripe_created_at);

create table auto_top_up_settings (
  account_id uuid primary key references accounts(id),
  enabled boolean not null,
  threshold_nanos bigint not null check (threshold_nanos > 0),
  pack_id uuid not null references credit_packs(id),
  period_seconds integer not null check (period_seconds between 3600 and 2592000),
  updated_at timestamptz not null default now()
);

-- One row per off-session charge tried; the period check counts these under the settings' row lock.
create table auto_top_up_attempts (
  id uuid primary key default gen_random_uuid(),
  account_id uuid not null references accounts(id),
  payment_id uuid not null unique references payments(id),
  balance_nanos bigint not null,
  created_at timestamptz not null default now()
);
create index auto_top_up_attempts_account_time on auto_top_up_attempts (account_id, created_at desc);
