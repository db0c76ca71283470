-- The outbound side: an outbox of e-mails and webhook deliveries written in the same transaction as
-- their cause, account tokens (e-mail verification, password reset), per-tenant notice settings,
-- customers' balance thresholds and integrators' webhook endpoints.

-- An endpoint's secret is kept sealed (AES-256-GCM under a key derived from the instance's key
-- pepper): it must be readable to sign deliveries, so it cannot be hashed like a token.
create table webhook_endpoints (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id),
  -- null: every account of the tenant (registered by an admin); else one account's own events.
  account_id uuid references accounts(id),
  url text not null check (length(url) between 1 and 2000),
  events text[] not null check (cardinality(events) between 1 and 20),
  secret_sealed text not null,
  description text not null default '' check (length(description) <= 200),
  created_at timestamptz not null default now(),
  disabled_at timestamptz
);
create index webhook_endpoints_tenant on webhook_endpoints (tenant_id, created_at desc) where disabled_at is null;

-- One row per message to deliver. The dedupe key names the cause (and, where a cause repeats, its
-- period: a threshold's crossing number, an invoice's attempt), so a replayed cause adds nothing.
create table outbox (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references tenants(id),
  account_id uuid references accounts(id),
  channel text not null check (channel in ('email', 'webhook')),
  -- The e-mail template or the webhook event type.
  topic text not null check (length(topic) between 1 and 100),
  dedupe_key text not null unique check (length(dedupe_key) between 1 and 300),
  -- The e-mail address; for webhooks the endpoint, with the event id receivers de-duplicate on.
  recipient text check (length(recipient) <= 400),
  endpoint_id uuid references webhook_endpoints(id),
  event_id text,
  payload jsonb not null,
  status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
  attempts integer not null default 0 check (attempts >= 0),
  -- A leased row is pushed to its lease's end: a worker that dies mid-delivery gives it back then.
  next_attempt_at timestamptz not null default now(),
  lease_token uuid,
  give_up_at timestamptz not null,
  last_error text,
  created_at timestamptz not null default now(),
  finished_at timestamptz,
  check ((channel = 'email') = (recipient is not null)),
  check ((channel = 'webhook') = (endpoint_id is not null and event_id is not null)),
  check ((status = 'pending') = (finished_at is null))
);
create index outbox_due on outbox (next_attempt_at) where status = 'pending';
create index outbox_endpoint on outbox (endpoint_id, id desc) where endpoint_id is not null;
create index outbox_account on outbox (account_id, id desc);

-- Every delivery attempt: the delivery log integrators and operators read.
create table outbox_attempts (
  outbox_id bigint not null references outbox(id),
  attempt integer not null check (attempt >= 1),
  started_at timestamptz not null,
  duration_ms integer not null check (duration_ms >= 0),
  ok boolean not null,
  status_code integer,
  error text check (length(error) <= 1000),
  primary key (outbox_id, attempt)
);

-- Accounts that existed before e-mail verification count as verified; new sign-ups start unverified.
alter table accounts add column email_verified_at timestamptz;
update accounts set email_verified_at = created_at;

-- Single-use tokens mailed to an account. Only a SHA-256 is kept, like session tokens.
create table account_tokens (
  id uuid primary key default gen_random_uuid(),
  account_id uuid not null references accounts(id),
  purpose text not null check (purpose in ('verify_email', 'reset_password')),
  token_hash bytea not null unique,
  -- The address the token was sent to: a verification only counts for that address.
  email text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz,
  check (expires_at > created_at)
);
create index account_tokens_account on account_tokens (account_id, purpose, created_at desc);

-- What a tenant's notices look like and what verification gates. No row: the defaults below.
create table tenant_notice_settings (
  tenant_id uuid primary key references tenants(id),
  sender text check (length(sender) between 3 and 300),
  -- off: nothing waits for verification; credit: sign-up credit only once verified; keys: no API
  -- key until verified (sign-up credit at once).
  verification text not null default 'off' check (verification in ('off', 'credit', 'keys')),
  signup_credit_nanos bigint not null default 0 check (signup_credit_nanos between 0 and 1000000000000000),
  updated_at timestamptz not null default now()
);

-- A customer's low-balance alert. Armed while the balance is at or above it; a crossing below
-- disarms it and counts (the count is the crossing's period in the outbox key); going back above re-arms it.
create table balance_thresholds (
  id uuid primary key default gen_random_uuid(),
  account_id uuid not null references accounts(id),
  threshold_nanos bigint not null check (threshold_nanos > 0),
  armed boolean not null,
  crossings integer not null default 0,
  created_at timestamptz not null default now(),
  unique (account_id, threshold_nanos)
);
