-- The operators' daily digest (notify/digest.ts): one row per tenant and UTC day once its digest
-- has been written to the outbox, in the same transaction, so each replica can tell at a glance
-- which tenants are left and no day is digested twice.
create table operator_digests (
  tenant_id uuid not null references tenants(id),
  day date not null,
  -- How many operators it was mailed to: zero when the day had nothing to report.
  recipients integer not null check (recipients >= 0),
  created_at timestamptz not null default now(),
  primary key (tenant_id, day)
);
