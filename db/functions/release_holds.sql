-- release_holds: voids or expires the open holds of these requests and releases their amounts in
-- one statement; returns the holds it resolved (none for a request already resolved).
-- p_async_commit as in post_settlements. Generic plan and no sequential scans, for the reasons
-- given in db/functions/post_settlements.sql.
--
-- Current definition, applied by db/migrate.ts whenever this file changes; a change of the
-- signature or of the returned columns needs a versioned migration that drops the old one.
-- History: db/migrations/00011, 00014, 00016.
create or replace function release_holds(p_request_ids text[], p_outcome text, p_async_commit boolean)
returns table (o_request_id text, o_wallet_id int8, o_api_key_id uuid, o_amount_nanos int8)
language plpgsql
set plan_cache_mode = force_generic_plan set enable_seqscan = off
as $$
declare
  r_req text[]; r_wallet int8[]; r_key uuid[]; r_amount int8[];
begin
  if p_async_commit then perform set_config('synchronous_commit', 'off', true); end if;
  with u as (update holds set outcome = p_outcome, resolved_at = now()
             where request_id = any(p_request_ids) and outcome is null
             returning request_id, wallet_id, api_key_id, amount_nanos)
  select coalesce(array_agg(u.request_id), '{}'), coalesce(array_agg(u.wallet_id), '{}'),
         coalesce(array_agg(u.api_key_id), '{}'), coalesce(array_agg(u.amount_nanos), '{}')
    into r_req, r_wallet, r_key, r_amount from u;
  perform 1 from wallets where id = any(r_wallet) order by id for update;
  update wallets set held_nanos = held_nanos - d.amount
    from (select wl, sum(a)::int8 as amount from unnest(r_wallet, r_amount) as x(wl, a) group by wl) d
    where wallets.id = d.wl;
  perform 1 from api_keys where id = any(r_key) order by id for update;
  update api_keys set held_nanos = held_nanos - d.amount
    from (select k, sum(a)::int8 as amount from unnest(r_key, r_amount) as x(k, a) where k is not null group by k) d
    where api_keys.id = d.k;
  return query select * from unnest(r_req, r_wallet, r_key, r_amount);
end $$;
