-- Settling a request (posting its real charge, or releasing its holds) in one statement, like
-- place_holds: the wallet rows it locks are then held for the statement's own work and its commit,
-- not across several client round trips. Under load the gateway's event loop is busy, and every
-- round trip inside a transaction that holds a hot wallet lock stalls every hold queued behind it.
--
-- p_async_commit lets the caller skip waiting for the WAL flush (the gateway's settlements do: the
-- hold already guarantees the money, and a crash can only lose whole settlements, whose holds then
-- reopen and expire). Holds are always committed synchronously.

-- Posts many requests. Debits are contiguous per request and in request order (p_debit_request is
-- the 1-based request index); credits (revenue, upstream cost) are listed the same way. For each
-- request: 'posted' with its usage transfer, or 'already_resolved' with the earlier outcome and
-- charge, or 'no_hold'. Granted credit is spent before paid credit, wallet by wallet.
create function post_settlements(
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
  e_req int4[] := '{}'; e_wallet int8[] := '{}'; e_funding text[] := '{}'; e_amount int8[] := '{}';
  c_wallet int8[] := '{}'; c_held int8[] := '{}'; c_paid int8[] := '{}'; c_granted int8[] := '{}';
  t_req int4[]; t_ids int8[];
  i int4; w int4; from_granted int8;
begin
  if p_async_commit then perform set_config('synchronous_commit', 'off', true); end if;

  with d as (select x.ri, p_request_ids[x.ri] as rid, x.wl, x.ch, x.ord
             from unnest(p_debit_request, p_debit_wallet, p_debit_charge) with ordinality as x(ri, wl, ch, ord)),
       u as (update holds h set outcome = 'posted', charged_nanos = d.ch, resolved_at = now()
             from d where h.request_id = d.rid and h.wallet_id = d.wl and h.outcome is null
             returning d.ri, d.ord, h.wallet_id, h.api_key_id, h.amount_nanos, h.charged_nanos)
  select coalesce(array_agg(u.ri order by u.ord), '{}'), coalesce(array_agg(u.wallet_id order by u.ord), '{}'),
         coalesce(array_agg(u.api_key_id order by u.ord), '{}'), coalesce(array_agg(u.amount_nanos order by u.ord), '{}'),
         coalesce(array_agg(u.charged_nanos order by u.ord), '{}')
    into r_req, r_wallet, r_key, r_amount, r_charge from u;

  select coalesce(array_agg(distinct ri), '{}') into posting from unnest(r_req) as ri;
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

  for i in 1..coalesce(array_length(r_req, 1), 0) loop
    w := array_position(w_ids, r_wallet[i]);
    from_granted := case when w_granted[w] <= 0 then 0 else least(r_charge[i], w_granted[w]) end;
    w_granted[w] := w_granted[w] - from_granted;
    if from_granted <> 0 then
      e_req := e_req || r_req[i]; e_wallet := e_wallet || r_wallet[i]; e_funding := e_funding || 'granted'::text; e_amount := e_amount || -from_granted;
    end if;
    if r_charge[i] - from_granted <> 0 then
      e_req := e_req || r_req[i]; e_wallet := e_wallet || r_wallet[i]; e_funding := e_funding || 'paid'::text; e_amount := e_amount || -(r_charge[i] - from_granted);
    end if;
    c_wallet := c_wallet || r_wallet[i]; c_held := c_held || -r_amount[i]; c_paid := c_paid || -(r_charge[i] - from_granted); c_granted := c_granted || -from_granted;
  end loop;
  for i in 1..coalesce(array_length(p_credit_request, 1), 0) loop
    continue when not (p_credit_request[i] = any(posting));
    if p_credit_amount[i] <> 0 then
      e_req := e_req || p_credit_request[i]; e_wallet := e_wallet || p_credit_wallet[i]; e_funding := e_funding || 'paid'::text; e_amount := e_amount || p_credit_amount[i];
    end if;
    c_wallet := c_wallet || p_credit_wallet[i]; c_held := c_held || 0::int8; c_paid := c_paid || p_credit_amount[i]; c_granted := c_granted || 0::int8;
  end loop;

  with t as (insert into transfers (kind, cause, memo)
             select 'usage', p_request_ids[ri], p_memos[ri] from unnest(posting) as ri
             returning id, cause),
       tr as (select ri, t.id from unnest(posting) as ri join t on t.cause = p_request_ids[ri]),
       ins as (insert into entries (transfer_id, wallet_id, funding, amount_nanos)
               select tr.id, e.w, e.f, e.a from unnest(e_req, e_wallet, e_funding, e_amount) with ordinality as e(ri, w, f, a, ord)
               join tr on tr.ri = e.ri order by e.ord)
  select coalesce(array_agg(tr.ri), '{}'), coalesce(array_agg(tr.id), '{}') into t_req, t_ids from tr;

  update wallets set held_nanos = held_nanos + d.held, paid_nanos = paid_nanos + d.paid, granted_nanos = granted_nanos + d.granted
    from (select wl, sum(h)::int8 as held, sum(p)::int8 as paid, sum(g)::int8 as granted
          from unnest(c_wallet, c_held, c_paid, c_granted) as x(wl, h, p, g) group by wl) d
    where wallets.id = d.wl;
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

-- Voids or expires the open holds of these requests and releases their amounts; returns the
-- holds it resolved (none for a request already resolved).
create function release_holds(p_request_ids text[], p_outcome text, p_async_commit boolean)
returns table (o_request_id text, o_wallet_id int8, o_api_key_id uuid, o_amount_nanos int8)
language plpgsql as $$
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
