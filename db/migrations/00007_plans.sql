-- Monthly plans: Stripe subscriptions that credit a set amount each paid billing period.
-- Prices are whole cents in nano-dollars, like credit packs (1 cent = 10^7 nanos).

create table plans (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id),
  name text not null check (length(name) between 1 and 100),
  -- What the customer pays each month: Stripe's 0.50 USD minimum to 100,000 USD, whole cents.
  price_nanos bigint not null check (price_nanos between 500000000 and 100000000000000 and price_nanos % 10000000 = 0),
  -- What each paid month credits: up to the price paid credit, above it bonus (granted).
  credit_nanos bigint not null check (credit_nanos > 0 and credit_nanos <= 1000000000000000),
  -- Archived plans are not sold; their subscribers keep them until they change or cancel.
  active boolean not null default true,
  sort_order integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, name)
);
create index plans_tenant_order on plans (tenant_id, sort_order, price_nanos);

-- One Stripe Price per plan version (price and credit): Stripe prices are immutable, so a changed
-- plan gets a new one, and an invoice line's price names exactly what was bought.
create table plan_prices (
  stripe_price_id text primary key,
  plan_id uuid not null references plans(id),
  price_nanos bigint not null check (price_nanos > 0 and price_nanos % 10000000 = 0),
  credit_nanos bigint not null check (credit_nanos > 0),
  created_at timestamptz not null default now(),
  unique (plan_id, price_nanos, credit_nanos)
);

-- Whether unused plan credit carries over into the next period; without a row it does.
create table plan_settings (
  tenant_id uuid primary key references tenants(id),
  credit_rollover boolean not null,
  updated_at timestamptz not null default now()
);

-- One row per subscription started through Checkout. The row exists before Stripe is called, and
-- its id travels in the subscription's metadata, so every event can find it.
create table plan_subscriptions (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id),
  account_id uuid not null references accounts(id),
  plan_id uuid not null references plans(id),
  -- open: checkout started; expired: checkout abandoned; the others mirror Stripe's status.
  status text not null default 'open' check (status in ('open', 'expired', 'incomplete', 'active', 'past_due', 'canceled')),
  checkout_session_id text unique,
  stripe_subscription_id text unique,
  stripe_price_id text references plan_prices(stripe_price_id),
  cancel_at_period_end boolean not null default false,
  current_period_end timestamptz,
  ended_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index plan_subscriptions_account on plan_subscriptions (account_id, created_at desc);
create index plan_subscriptions_tenant on plan_subscriptions (tenant_id, created_at desc);
-- Not unique per account: two checkouts paid at the same moment are two real Stripe subscriptions,
-- and both must be recorded (and credited) for the operator to see and refund one.
create index plan_subscriptions_stripe_live on plan_subscriptions (account_id) where status in ('incomplete', 'active', 'past_due');

-- Every invoice of a subscription Tollgate has seen, with what it did. The invoice id is the cause
-- of its credit transfer (kind 'subscription'); the unused credit it removed, when rollover is off,
-- is a second 'subscription' transfer whose cause is the invoice id followed by ':unused'.
create table plan_invoices (
  invoice_id text primary key,
  subscription_id uuid not null references plan_subscriptions(id),
  status text not null check (status in ('paid', 'failed', 'mismatch', 'ended')),
  amount_paid_cents bigint,
  credit_transfer_id bigint unique references transfers(id),
  credit_nanos bigint not null default 0 check (credit_nanos >= 0),
  unused_transfer_id bigint unique references transfers(id),
  unused_nanos bigint not null default 0 check (unused_nanos >= 0),
  failure_reason text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((status = 'paid') = (credit_transfer_id is not null))
);
create index plan_invoices_subscription on plan_invoices (subscription_id, created_at desc);
