-- A streamed request whose first chunk has arrived: its upstream generation id and what its
-- settlement needs, written (batched, off the response's path) while the stream runs. If the
-- replica serving it dies, another replica's sweeper settles its expired hold from this row: by
-- the upstream's generation record, else by the documented estimate (docs/architecture.md).
-- No foreign keys on purpose: the row is a recovery note written on the hot path, and its request
-- id already ties it to the holds. The sweeper deletes rows once their holds are resolved.
create table stream_starts (
  request_id text primary key,
  generation_id text not null,
  tenant_id uuid not null,
  account_id uuid not null,
  api_key_id uuid,
  wallet_id bigint not null,
  route text not null,
  model text not null,
  -- Each tenant level's markup at hold time, root first.
  markups_bps int4[] not null,
  -- The price the hold used, nano-dollars: prompt and completion per million tokens, per request, per media item.
  price_nanos int8[] not null check (cardinality(price_nanos) = 4),
  prompt_tokens_estimate int4 not null,
  prompt_tokens_bound int4 not null,
  media_items int4 not null,
  hold_nanos bigint not null,
  started_at timestamptz not null default now()
);
create index stream_starts_started on stream_starts (started_at);
