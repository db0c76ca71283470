-- No wallet below zero, whatever the upstream reports (issue 17).
--
-- A settlement posts a charge up to its hold, takes the part above the hold only from what the
-- wallet (and a capped key) has available, and writes the rest off to the "uncollected" book of
-- the tenant that was owed it: the customer's tenant for a customer wallet, the reseller's parent
-- for a reseller's wholesale wallet (db/functions/post_settlements.sql). Every tenant keeps one.
alter table wallets drop constraint wallets_kind_check;
alter table wallets add constraint wallets_kind_check
  check (kind in ('customer', 'reseller', 'revenue', 'upstream', 'clearing', 'promotion', 'adjustment', 'uncollected'));
insert into wallets (kind, tenant_id) select 'uncollected', id from tenants;

-- A posted hold records what its wallet was charged (at most its amount plus what was available)
-- and what was written off; holds posted before this migration have no written-off amount.
alter table holds add column written_off_nanos bigint check (written_off_nanos >= 0);
alter table holds add constraint holds_written_off_when_posted check (outcome = 'posted' or written_off_nanos is null);

-- A request whose reported usage or cost no request of its shape could produce is settled by the
-- estimate and flagged; /metrics counts them (the partial index keeps that count cheap).
alter table requests add column usage_distrusted boolean not null default false;
create index requests_usage_distrusted on requests (created_at) where usage_distrusted;

-- Every price component the catalog publishes, and each provider's prices (OpenRouter's
-- /models/{id}/endpoints), so a hold covers the dearest provider a request may be routed to.
alter table models
  add column web_search_nanos bigint not null default 0 check (web_search_nanos >= 0),
  add column internal_reasoning_nanos_per_mtok bigint not null default 0 check (internal_reasoning_nanos_per_mtok >= 0),
  add column input_cache_read_nanos_per_mtok bigint not null default 0 check (input_cache_read_nanos_per_mtok >= 0),
  add column input_cache_write_nanos_per_mtok bigint not null default 0 check (input_cache_write_nanos_per_mtok >= 0),
  add column endpoints jsonb not null default '[]'::jsonb;

-- Learned bounds (upstream/learned-bounds.ts): how far an upstream's reported costs for a model
-- have exceeded the catalog bound of their own usage, as a factor in basis points (10000 = 1×)
-- that every replica applies to that model's holds. Raised by overshoots, decaying slowly.
create table learned_bounds (
  upstream text not null,
  model text not null,
  factor_bps integer not null check (factor_bps >= 10000),
  updated_at timestamptz not null default now(),
  primary key (upstream, model)
);
