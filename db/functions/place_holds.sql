-- place_holds: places a batch of holds request by request, naming each refusal. The gateway sends a
-- batch here only when place_whole_holds (db/functions/place_whole_holds.sql) cannot place it whole.
--
-- Each request has legs (wallet, desired, minimum), contiguous and in request order; leg 1 of a
-- request is the customer's wallet, which a capped key (p_key_ids) also limits. A request is
-- granted entirely or refused entirely. When a leg can only get part of its desired amount, every
-- leg of the request gets the same fraction (never below its minimum), so the caller can shrink
-- the request consistently. Wallet rows are locked in id order, the one lock order of all money
-- statements, so concurrent batches never deadlock.
--
-- Set-based where it can be: PL/pgSQL costs several microseconds per statement it runs, so the
-- common case (everything fits) is decided in a fixed handful of statements whatever the batch's
-- size, and only a batch that does not fit whole takes the request-by-request allocation.
-- The generic plan is forced: left to choose, PostgreSQL re-planned every statement on every call
-- (about 80 us of a single-request hold's 420 us); the generic plans use the indexes the
-- statements are written for (checked with EXPLAIN).
--
-- Current definition, applied by db/migrate.ts whenever this file changes; a change of the
-- signature or of the returned columns needs a versioned migration that drops the old one.
-- History: db/migrations/00006, 00012, 00014.
create or replace function place_holds(
  p_request_ids text[], p_key_ids uuid[], p_ttl_seconds int4[],
  p_leg_request int4[], p_leg_wallet int8[], p_leg_desired int8[], p_leg_minimum int8[]
) returns table (request_index int4, refusal text, refused_leg int4, granted int8[])
language plpgsql
set plan_cache_mode = force_generic_plan
as $$
declare
  w_ids int8[] := '{}'; w_avail int8[] := '{}';
  k_ids uuid[] := '{}'; k_avail int8[] := '{}';
  duplicates text[];
  row record;
  n int4 := coalesce(array_length(p_request_ids, 1), 0);
  leg_first int4 := 1; leg_last int4;
  i int4; l int4; w int4; k int4;
  lim int8[]; got int8[];
  scale_num numeric; scale_den numeric;
  h_req text[] := '{}'; h_wallet int8[] := '{}'; h_key uuid[] := '{}'; h_amount int8[] := '{}'; h_ttl int4[] := '{}';
  changed int4; expected int4;
begin
  for row in select id, paid_nanos + granted_nanos - held_nanos as available from wallets
             where id = any(p_leg_wallet) order by id for update loop
    w_ids := w_ids || row.id; w_avail := w_avail || row.available::int8;
  end loop;
  for row in select id, credit_cap_nanos - spent_nanos - held_nanos as available from api_keys
             where id = any(p_key_ids) and credit_cap_nanos is not null order by id for update loop
    k_ids := k_ids || row.id; k_avail := k_avail || row.available::int8;
  end loop;
  select coalesce(array_agg(distinct h.request_id), '{}') into duplicates from holds h where h.request_id = any(p_request_ids);

  -- The common case, decided in a few set-based statements: no duplicate, and every wallet and
  -- capped key can cover everything the batch asks of it, so every request gets all it desires.
  -- Only a batch that does not fit whole takes the request-by-request allocation below.
  if cardinality(duplicates) = 0
     and not exists (select 1 from unnest(p_leg_desired, p_leg_minimum) as x(d, m) where d < m or m < 0)
     and not exists (
       select 1 from (select wl, sum(d) as asked from unnest(p_leg_wallet, p_leg_desired) as x(wl, d) group by wl) a
       left join unnest(w_ids, w_avail) as wa(id, avail) on wa.id = a.wl
       where wa.avail is null or wa.avail < a.asked)
     and not exists (
       select 1 from (select p_key_ids[lr] as ky, sum(d) as asked
                      from unnest(p_leg_request, p_leg_desired) with ordinality as x(lr, d, ord)
                      where p_key_ids[lr] = any(k_ids)
                        and ord = (select min(o) from unnest(p_leg_request) with ordinality as y(r2, o) where r2 = x.lr)
                      group by 1) a
       join unnest(k_ids, k_avail) as ka(id, avail) on ka.id = a.ky
       where ka.avail < a.asked) then
    insert into holds (request_id, wallet_id, api_key_id, amount_nanos, expires_at)
      select p_request_ids[lr], wl, case when first_leg then p_key_ids[lr] end, d, now() + make_interval(secs => p_ttl_seconds[lr])
      from (select lr, wl, d, row_number() over (partition by lr order by ord) = 1 as first_leg
            from unnest(p_leg_request, p_leg_wallet, p_leg_desired) with ordinality as x(lr, wl, d, ord)) legs;
    update wallets set held_nanos = held_nanos + a.asked
      from (select wl, sum(d)::int8 as asked from unnest(p_leg_wallet, p_leg_desired) as x(wl, d) group by wl) a
      where wallets.id = a.wl;
    update api_keys set held_nanos = held_nanos + a.asked
      from (select p_key_ids[lr] as ky, sum(d)::int8 as asked
            from (select lr, d, row_number() over (partition by lr order by ord) = 1 as first_leg
                  from unnest(p_leg_request, p_leg_desired) with ordinality as x(lr, d, ord)) legs
            where first_leg group by 1) a
      where api_keys.id = a.ky and a.ky = any(k_ids);
    return query
      select x.lr, null::text, null::int4, array_agg(x.d order by x.ord)
      from unnest(p_leg_request, p_leg_desired) with ordinality as x(lr, d, ord) group by x.lr order by x.lr;
    return;
  end if;

  for i in 1..n loop
    leg_last := leg_first;
    while leg_last + 1 <= coalesce(array_length(p_leg_request, 1), 0) and p_leg_request[leg_last + 1] = i loop
      leg_last := leg_last + 1;
    end loop;
    request_index := i; refusal := null; refused_leg := null; granted := null;
    k := array_position(k_ids, p_key_ids[i]);
    if p_request_ids[i] = any(duplicates) then
      refusal := 'duplicate_request'; refused_leg := 0;
    else
      duplicates := duplicates || p_request_ids[i];
      lim := '{}';
      for l in leg_first..leg_last loop
        w := array_position(w_ids, p_leg_wallet[l]);
        lim := lim || coalesce(w_avail[w], 0);
        if lim[l - leg_first + 1] < p_leg_minimum[l] then
          refusal := 'insufficient_credit'; refused_leg := l - leg_first; exit;
        end if;
        if l = leg_first and k is not null then
          if k_avail[k] < p_leg_minimum[l] then refusal := 'key_credit_cap'; refused_leg := 0; exit; end if;
          lim[1] := least(lim[1], k_avail[k]);
        end if;
      end loop;
    end if;
    if refusal is null then
      scale_num := 1; scale_den := 1;
      for l in leg_first..leg_last loop
        if p_leg_desired[l] > 0 and lim[l - leg_first + 1]::numeric * scale_den < p_leg_desired[l]::numeric * scale_num then
          scale_num := lim[l - leg_first + 1]; scale_den := p_leg_desired[l];
        end if;
      end loop;
      got := '{}';
      for l in leg_first..leg_last loop
        got := got || greatest(floor(p_leg_desired[l]::numeric * scale_num / scale_den)::int8, p_leg_minimum[l]);
        if got[l - leg_first + 1] > lim[l - leg_first + 1] then refusal := 'insufficient_credit'; refused_leg := l - leg_first; exit; end if;
      end loop;
    end if;
    if refusal is null then
      for l in leg_first..leg_last loop
        w := array_position(w_ids, p_leg_wallet[l]);
        w_avail[w] := w_avail[w] - got[l - leg_first + 1];
        h_req := h_req || p_request_ids[i]; h_wallet := h_wallet || p_leg_wallet[l];
        h_key := h_key || (case when l = leg_first then p_key_ids[i] end);
        h_amount := h_amount || got[l - leg_first + 1]; h_ttl := h_ttl || p_ttl_seconds[i];
      end loop;
      if k is not null then k_avail[k] := k_avail[k] - got[1]; end if;
      granted := got;
    end if;
    return next;
    leg_first := leg_last + 1;
  end loop;

  if coalesce(array_length(h_req, 1), 0) = 0 then return; end if;
  insert into holds (request_id, wallet_id, api_key_id, amount_nanos, expires_at)
    select r, wl, ky, a, now() + make_interval(secs => t) from unnest(h_req, h_wallet, h_key, h_amount, h_ttl) as x(r, wl, ky, a, t);
  -- The condition re-checks what the allocation computed, as a last line of defence.
  update wallets set held_nanos = held_nanos + d.amount
    from (select wl, sum(a)::int8 as amount from unnest(h_wallet, h_amount) as x(wl, a) group by wl) d
    where wallets.id = d.wl and wallets.paid_nanos + wallets.granted_nanos - wallets.held_nanos >= d.amount;
  get diagnostics changed = row_count;
  select count(distinct wl) into expected from unnest(h_wallet) as wl;
  if changed <> expected then
    raise exception 'hold batch would overdraw a wallet; the batch was rolled back';
  end if;
  update api_keys set held_nanos = held_nanos + d.amount
    from (select ky, sum(a)::int8 as amount from unnest(h_key, h_amount) as x(ky, a) where ky is not null group by ky) d
    where api_keys.id = d.ky;
end $$;
