-- Upstream channels (issue 22): the upstreams a request may be sent to, as data. A channel names
-- the environment variable that holds its key, never the key: keys stay out of the database, its
-- backups and every API. The gateway caches this table in memory and re-reads it in the
-- background, so routing never waits on the database.
create table channels (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  -- null: the gateway's UPSTREAM_BASE_URL (the zero-configuration channel follows the environment).
  base_url text check (base_url ~ '^https?://[^\s]+$'),
  -- null with a null base_url: UPSTREAM_API_KEY or OPENROUTER_API_KEY; null otherwise: no key is sent.
  key_variable text check (key_variable ~ '^[A-Z][A-Z0-9_]{0,127}$'),
  -- The wire protocols the channel speaks natively (chat, completions, embeddings; later messages, responses).
  protocols text[] not null default '{chat,completions,embeddings}' check (cardinality(protocols) > 0),
  -- Customer-facing model ids or globs the channel serves.
  models text[] not null default '{*}',
  -- Customer-facing id -> the channel's own id for it, e.g. {"gpt-4o": "openai/gpt-4o"}; a mapped id is served.
  model_map jsonb not null default '{}' check (jsonb_typeof(model_map) = 'object'),
  -- Higher priorities are tried first; among equal priorities, traffic splits by weight.
  priority int4 not null default 0 check (priority between -1000000 and 1000000),
  weight int4 not null default 1 check (weight between 1 and 1000),
  max_concurrency int4 check (max_concurrency > 0),
  max_requests_per_minute int4 check (max_requests_per_minute > 0),
  -- Where a request's cost comes from: the upstream's reported usage.cost (else the catalog), the
  -- catalog price only, or the operator's price table for this channel (channel_prices).
  price_source text not null default 'reported' check (price_source in ('reported', 'catalog', 'table')),
  -- How long an attempt may wait for the response head before the next channel is tried; null: the proxy's default.
  headers_timeout_ms int4 check (headers_timeout_ms between 100 and 600000),
  -- draining: tried only after every active channel (a last resort, for maintenance); disabled: never.
  state text not null default 'active' check (state in ('active', 'draining', 'disabled')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- The zero-configuration channel: the environment's upstream, as before channels existed.
insert into channels (name) values ('default');

-- The operator's price table of a channel whose price_source is 'table', by customer-facing model id.
create table channel_prices (
  channel_id uuid not null references channels(id),
  model text not null,
  prompt_nanos_per_mtok bigint not null check (prompt_nanos_per_mtok >= 0),
  completion_nanos_per_mtok bigint not null check (completion_nanos_per_mtok >= 0),
  request_nanos bigint not null default 0 check (request_nanos >= 0),
  image_nanos bigint not null default 0 check (image_nanos >= 0),
  primary key (channel_id, model)
);

-- What the gateways last reported of each circuit breaker that ever left the closed state: a view
-- for the CLI and the API, written on each transition. Routing never reads it (memory, or Redis).
create table channel_breakers (
  channel_id uuid not null,
  model text not null,
  state text not null check (state in ('closed', 'open', 'half_open')),
  -- When an open breaker lets its next probe through.
  retry_at timestamptz,
  changed_at timestamptz not null default now(),
  primary key (channel_id, model)
);

-- The channel that served a request, and every attempt it took ([{channel, status, outcome, ms}]).
-- No foreign key on purpose: the row is written on the settlement's hot path, and channels are
-- never deleted (only disabled).
alter table requests add column channel_id uuid, add column attempts jsonb;
-- A started stream's channel, so that the sweeper asks that channel for its generation record.
alter table stream_starts add column channel_id uuid;
