-- place_whole_holds: the common hold as one plain statement (db/queries/holds.ts, placeHolds): each
-- wallet that can cover everything a batch desires of it, with a headroom in multiples of what it
-- places, is locked, in id order, and charged with the total, and its holds are inserted. A wallet
-- that cannot places nothing here: its requests go to place_holds, which allocates request by
-- request and names each refusal. A request already held fails the whole statement on the holds'
-- unique index (nothing is written); the caller then sends the batch to place_holds, which answers
-- duplicate_request. Checking for it here instead would cost a lookup per request on every call
-- for a case the gateway never produces.
--
-- Requests are held with headroom 0. Spare holds (ledger/spare-holds.ts) must never be what
-- refuses or shrinks another request, so they are placed only where the wallet keeps a wide margin
-- after them: p_headroom.
--
-- It is a function so that its plan is kept and fixed: sent as a prepared statement, PostgreSQL
-- re-planned it on every call (about 170 us, more than it takes to run), and the generic plan,
-- which cannot see how few rows the arrays hold, chose sequential scans and hash joins over the
-- wallets. Wallet rows must be reached by their key, and locked in id order, whatever the
-- statistics say, so the function runs with nested loops over index scans only.
--
-- Current definition, applied by db/migrate.ts whenever this file changes; a change of the
-- signature or of the returned columns needs a versioned migration that drops the old one.
-- History: db/migrations/00015, 00017.
create or replace function place_whole_holds(p_request_ids text[], p_wallet_ids int8[], p_amounts int8[], p_ttl_seconds int4[], p_headroom int4)
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

-- The four-argument form stays for replicas started before db/migrations/00017 (a rolling upgrade);
-- its body is now this one call.
create or replace function place_whole_holds(p_request_ids text[], p_wallet_ids int8[], p_amounts int8[], p_ttl_seconds int4[])
returns setof text
language sql
as $$ select place_whole_holds(p_request_ids, p_wallet_ids, p_amounts, p_ttl_seconds, 0) $$;
