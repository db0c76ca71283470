-- The money statements, set-based. PL/pgSQL costs several microseconds per statement it runs, and
-- the first versions ran a dozen per request (array appends in loops), which made PostgreSQL the
-- gateway's largest CPU cost under load (about 90 us per hold and 120 us per post, measured in
-- batches of 40). Now a batch runs a fixed handful of statements whatever its size:
-- place_holds decides the common case (everything fits) set-based and keeps the request-by-request
-- allocation for batches that do not fit whole; post_settlements computes the granted/paid split
-- with a running sum per wallet instead of a loop.

create or replace function place_holds(
  p_request_ids text[], p_key_ids uuid[], p_ttl_seconds int4[],
  p_leg_request int4[], p_leg_wallet int8[], p_leg_desired int8[], p_leg_minimum int8[]
) returns table (request_index int4, refusal text, refused_leg int4, granted int8[])
language plpgsql as $$
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

-- Posts many requests (see db/migrations/00011 for the contract); set-based: the granted/paid split
-- is a running sum per wallet, in debit order, so granted credit is still spent first and once.
create or replace function post_settlements(
  p_request_ids text[], p_memos jsonb[],
  p_debit_request int4[], p_debit_wallet int8[], p_debit_charge int8[],
  p_credit_request int4[], p_credit_wallet int8[], p_credit_amount int8[],
  p_async_commit boolean
) returns table (o_request_index int4, o_status text, o_transfer_id int8, o_previous_outcome text, o_charged_nanos int8)
language plpgsql as $$
declare
  n int4 := coalesce(array_length(p_request_ids, 1), 0);
  r_req int4[]; r_wallet int8[]; r_key uuid[]; r_amount int8[]; r_charge int8[];
  posting int4[]; w_ids int8[]; w_granted int8[];
  t_req int4[]; t_ids int8[];
begin
  if p_async_commit then perform set_config('synchronous_commit', 'off', true); end if;

  with d as (select x.ri, p_request_ids[x.ri] as rid, x.wl, x.ch, x.ord
             from unnest(p_debit_request, p_debit_wallet, p_debit_charge) with ordinality as x(ri, wl, ch, ord)),
       u as (update holds h set outcome = 'posted', charged_nanos = d.ch, resolved_at = now()
             from d where h.request_id = d.rid and h.wallet_id = d.wl and h.outcome is null
             returning d.ri, d.ord, h.wallet_id, h.api_key_id, h.amount_nanos, h.charged_nanos)
  select coalesce(array_agg(u.ri order by u.ord), '{}'), coalesce(array_agg(u.wallet_id order by u.ord), '{}'),
         coalesce(array_agg(u.api_key_id order by u.ord), '{}'), coalesce(array_agg(u.amount_nanos order by u.ord), '{}'),
         coalesce(array_agg(u.charged_nanos order by u.ord), '{}'), coalesce(array_agg(distinct u.ri), '{}')
    into r_req, r_wallet, r_key, r_amount, r_charge, posting from u;

  -- A request is posted on all of its holds or on none: a partial match means the caller's legs
  -- disagree with what was held.
  if exists (select 1 from (select ri, count(*) as legs from unnest(p_debit_request) as ri where ri = any(posting) group by ri) asked
             full join (select ri, count(*) as legs from unnest(r_req) as ri group by ri) got using (ri)
             where asked.legs is distinct from got.legs) then
    raise exception 'a settlement does not match its holds; the batch was rolled back';
  end if;

  -- One ordered lock of every wallet this batch touches: the lock order of all money statements.
  select coalesce(array_agg(id order by id), '{}'), coalesce(array_agg(granted_nanos order by id), '{}') into w_ids, w_granted
    from (select id, granted_nanos from wallets
          where id = any(r_wallet || array(select cw from unnest(p_credit_request, p_credit_wallet) as c(cr, cw) where cr = any(posting)))
          order by id for update) locked;
  -- Every wallet named must exist: the entries table keeps no foreign key (db/migrations/00013).
  if exists (select 1 from unnest(r_wallet || array(select cw from unnest(p_credit_request, p_credit_wallet) as c(cr, cw) where cr = any(posting))) as wl
             where not (wl = any(w_ids))) then
    raise exception 'a settlement names a wallet that does not exist; the batch was rolled back';
  end if;

  with r as (select x.ri, x.wl, x.amount, x.charge, x.ord,
                    greatest(0, least(x.charge, g.granted - (sum(x.charge) over (partition by x.wl order by x.ord) - x.charge)))::int8 as from_granted
             from unnest(r_req, r_wallet, r_amount, r_charge) with ordinality as x(ri, wl, amount, charge, ord)
             join unnest(w_ids, w_granted) as g(id, granted) on g.id = x.wl),
       c as (select x.cr as ri, x.cw as wl, x.ca as amount, x.ord
             from unnest(p_credit_request, p_credit_wallet, p_credit_amount) with ordinality as x(cr, cw, ca, ord)
             where x.cr = any(posting)),
       e as (select r.ri, r.wl, v.funding, v.amount, r.ord, v.part
             from r cross join lateral (values (1, 'granted', -r.from_granted), (2, 'paid', -(r.charge - r.from_granted))) as v(part, funding, amount)
             union all
             select c.ri, c.wl, 'paid', c.amount, 1000000 + c.ord, 1 from c),
       t as (insert into transfers (kind, cause, memo)
             select 'usage', p_request_ids[ri], p_memos[ri] from unnest(posting) as ri
             returning id, cause),
       tr as (select ri, t.id from unnest(posting) as ri join t on t.cause = p_request_ids[ri]),
       ins as (insert into entries (transfer_id, wallet_id, funding, amount_nanos)
               select tr.id, e.wl, e.funding, e.amount from e join tr on tr.ri = e.ri
               where e.amount <> 0 order by e.ord, e.part),
       changes as (select wl, sum(held)::int8 as held, sum(paid)::int8 as paid, sum(granted)::int8 as granted from (
                     select r.wl, -r.amount as held, -(r.charge - r.from_granted) as paid, -r.from_granted as granted from r
                     union all
                     select c.wl, 0, c.amount, 0 from c) all_changes group by wl),
       moved as (update wallets set held_nanos = held_nanos + changes.held, paid_nanos = paid_nanos + changes.paid,
                   granted_nanos = granted_nanos + changes.granted
                 from changes where wallets.id = changes.wl)
  select coalesce(array_agg(tr.ri), '{}'), coalesce(array_agg(tr.id), '{}') into t_req, t_ids from tr;

  perform 1 from api_keys where id = any(r_key) order by id for update;
  update api_keys set held_nanos = held_nanos - d.held, spent_nanos = spent_nanos + d.spent
    from (select k, sum(a)::int8 as held, sum(c)::int8 as spent from unnest(r_key, r_amount, r_charge) as x(k, a, c) where k is not null group by k) d
    where api_keys.id = d.k;

  return query
    select g.i, case when tr.id is not null then 'posted' when prev.outcome is not null then 'already_resolved' else 'no_hold' end,
           tr.id, prev.outcome, prev.charged
    from generate_series(1, n) as g(i)
    left join unnest(t_req, t_ids) as tr(ri, id) on tr.ri = g.i
    left join lateral (
      select max(h.outcome) as outcome, coalesce(sum(h.charged_nanos), 0)::int8 as charged
      from holds h where tr.id is null and h.request_id = p_request_ids[g.i] having max(h.outcome) is not null
    ) prev on true
    order by g.i;
end $$;
