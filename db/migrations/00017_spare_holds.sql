-- Spare holds (ledger/spare-holds.ts): a key in back-to-back use gets its next request's hold
-- placed ahead, under that request's id, so the request finds it durable on arrival. A spare must
-- never be what refuses or shrinks another request, so it is placed only where the wallet keeps
-- a wide margin after it: the one-statement hold gains a headroom, in multiples of what it
-- places. Requests themselves are held with headroom 0, as before.
create function place_whole_holds(p_request_ids text[], p_wallet_ids int8[], p_amounts int8[], p_ttl_seconds int4[], p_headroom int4)
returns setof text
language plpgsql
set plan_cache_mode = force_generic_plan set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off
as $$
begin
  return query
    with legs as materialized (
           select * from unnest(p_request_ids, p_wallet_ids, p_amounts, p_ttl_seconds) as x(request_id, wallet_id, amount, ttl)),
         asked as (select legs.wallet_id, sum(legs.amount)::int8 as amount from legs group by legs.wallet_id),
         fits as materialized (
           select w.id, a.amount from wallets w join asked a on a.wallet_id = w.id
           where w.paid_nanos + w.granted_nanos - w.held_nanos >= a.amount::numeric * (1 + p_headroom)
           order by w.id for update of w),
         moved as (update wallets set held_nanos = held_nanos + fits.amount from fits where wallets.id = fits.id returning wallets.id),
         placed as (insert into holds (request_id, wallet_id, amount_nanos, expires_at)
           select legs.request_id, legs.wallet_id, legs.amount, now() + make_interval(secs => legs.ttl)
           from legs join moved on moved.id = legs.wallet_id
           returning holds.request_id)
    select placed.request_id from placed;
end $$;

-- The four-argument form stays for replicas started before this migration (a rolling upgrade);
-- its body is now this one call.
create or replace function place_whole_holds(p_request_ids text[], p_wallet_ids int8[], p_amounts int8[], p_ttl_seconds int4[])
returns setof text
language sql
as $$ select place_whole_holds(p_request_ids, p_wallet_ids, p_amounts, p_ttl_seconds, 0) $$;
