-- post_settlements: posts many requests' real charges in one statement, so the wallet rows it locks
-- are held for the statement's own work and its commit, not across several client round trips
-- (under load every round trip inside a transaction that holds a hot wallet lock stalls every hold
-- queued behind it).
--
-- Debits are contiguous per request and in request order (p_debit_request is the 1-based request
-- index); credits (revenue, upstream cost) are listed the same way. For each request: 'posted'
-- with its usage transfer, or 'already_resolved' with the earlier outcome and charge, or
-- 'no_hold'. Granted credit is spent before paid credit, wallet by wallet: the split is a running
-- sum per wallet, in debit order, so granted credit is spent first and once.
--
-- No wallet below zero, whatever the upstream reported (docs/architecture.md, settlement policy):
-- a debit up to its hold is posted whole; the part above the hold is taken only from what the
-- wallet has available at that moment (and, for a capped key, what is left of its cap), in debit
-- order, so earlier releases in the batch count and earlier excesses are spent; whatever is left
-- is written off to the "uncollected" book of the tenant that was owed it (the customer's tenant
-- for a customer wallet, the parent for a reseller's wholesale wallet), in the request's own usage
-- transfer. The hold records what was charged and what was written off. The credits (revenue,
-- upstream cost) are posted as given: the operator's loss is the uncollected book.
--
-- p_async_commit lets the caller skip waiting for the WAL flush (the gateway's settlements do: the
-- hold already guarantees the money, and a crash can only lose whole settlements, whose holds then
-- reopen and expire).
--
-- The generic plan is forced (re-planning each call cost more than running it), and sequential
-- scans are off: a generic plan made while the holds table was small seq-scanned it, and stayed
-- cached on that connection as the table grew. Holds are always reached by key.
--
-- Current definition, applied by db/migrate.ts whenever this file changes; a change of the
-- signature or of the returned columns needs a versioned migration that drops the old one.
-- History: db/migrations/00011, 00012, 00014, 00016.
create or replace function post_settlements(
  p_request_ids text[], p_memos jsonb[],
  p_debit_request int4[], p_debit_wallet int8[], p_debit_charge int8[],
  p_credit_request int4[], p_credit_wallet int8[], p_credit_amount int8[],
  p_async_commit boolean
) returns table (o_request_index int4, o_status text, o_transfer_id int8, o_previous_outcome text, o_charged_nanos int8)
language plpgsql
set plan_cache_mode = force_generic_plan set enable_seqscan = off
as $$
declare
  n int4 := coalesce(array_length(p_request_ids, 1), 0);
  r_hold int8[]; r_req int4[]; r_wallet int8[]; r_key uuid[]; r_amount int8[]; r_charge int8[];
  r_capped int8[]; r_uncollected int8[] := '{}';
  over boolean;
  posting int4[]; w_ids int8[]; w_granted int8[]; w_avail int8[]; k_ids uuid[]; k_avail int8[];
  t_req int4[]; t_ids int8[];
  i int4; wi int4; ki int4; extra int8;
begin
  if p_async_commit then perform set_config('synchronous_commit', 'off', true); end if;

  -- The open holds this batch resolves, locked: a replay or a concurrent batch finds them resolved.
  with d as (select x.ri, p_request_ids[x.ri] as rid, x.wl, x.ch, x.ord
             from unnest(p_debit_request, p_debit_wallet, p_debit_charge) with ordinality as x(ri, wl, ch, ord)),
       u as (select d.ri, d.ord, d.ch, h.id, h.wallet_id, h.api_key_id, h.amount_nanos
             from holds h join d on h.request_id = d.rid and h.wallet_id = d.wl and h.outcome is null
             for update of h)
  select coalesce(array_agg(u.id order by u.ord), '{}'), coalesce(array_agg(u.ri order by u.ord), '{}'),
         coalesce(array_agg(u.wallet_id order by u.ord), '{}'), coalesce(array_agg(u.api_key_id order by u.ord), '{}'),
         coalesce(array_agg(u.amount_nanos order by u.ord), '{}'), coalesce(array_agg(u.ch order by u.ord), '{}'),
         coalesce(array_agg(distinct u.ri), '{}'), coalesce(bool_or(u.ch > u.amount_nanos), false)
    into r_hold, r_req, r_wallet, r_key, r_amount, r_charge, posting, over from u;

  -- A request is posted on all of its holds or on none: a partial match means the caller's legs
  -- disagree with what was held.
  if exists (select 1 from (select ri, count(*) as legs from unnest(p_debit_request) as ri where ri = any(posting) group by ri) asked
             full join (select ri, count(*) as legs from unnest(r_req) as ri group by ri) got using (ri)
             where asked.legs is distinct from got.legs) then
    raise exception 'a settlement does not match its holds; the batch was rolled back';
  end if;

  -- Only a charge above its hold can be written off; the book it would go to is found for those.
  if over then
    select coalesce(array_agg(uw.id order by x.ord), '{}') into r_uncollected
      from unnest(r_wallet, r_charge, r_amount) with ordinality as x(wl, ch, amount, ord)
      left join wallets dw on dw.id = x.wl and x.ch > x.amount
      left join tenants t on t.id = dw.tenant_id
      left join wallets uw on uw.kind = 'uncollected'
        and uw.tenant_id = case when dw.kind = 'reseller' then t.parent_id else dw.tenant_id end;
    if exists (select 1 from unnest(r_charge, r_amount, r_uncollected) as x(ch, amount, uw) where x.ch > x.amount and x.uw is null) then
      raise exception 'a settlement above its hold has no uncollected book to write off to; the batch was rolled back';
    end if;
  end if;

  -- One ordered lock of every wallet this batch touches: the lock order of all money statements.
  select coalesce(array_agg(id order by id), '{}'), coalesce(array_agg(granted_nanos order by id), '{}'),
         coalesce(array_agg((paid_nanos + granted_nanos - held_nanos)::int8 order by id), '{}') into w_ids, w_granted, w_avail
    from (select id, granted_nanos, paid_nanos, held_nanos from wallets
          where id = any(r_wallet || array(select cw from unnest(p_credit_request, p_credit_wallet) as c(cr, cw) where cr = any(posting))
                         || array(select uw from unnest(r_uncollected) as uw where uw is not null))
          order by id for update) locked;
  -- Every wallet named must exist: the entries table keeps no foreign key (db/migrations/00013).
  if exists (select 1 from unnest(r_wallet || array(select cw from unnest(p_credit_request, p_credit_wallet) as c(cr, cw) where cr = any(posting))) as wl
             where not (wl = any(w_ids))) then
    raise exception 'a settlement names a wallet that does not exist; the batch was rolled back';
  end if;
  -- Then the keys, in id order; a capped key's room (cap - spent - held) limits its charges like a wallet.
  select coalesce(array_agg(id order by id), '{}'),
         coalesce(array_agg((credit_cap_nanos - spent_nanos - held_nanos)::int8 order by id), '{}') into k_ids, k_avail
    from (select id, credit_cap_nanos, spent_nanos, held_nanos from api_keys where id = any(r_key) order by id for update) locked;

  -- The cap, in debit order: a charge above its hold gets at most what is available, never below zero.
  r_capped := r_charge;
  if over then
    for i in 1..coalesce(array_length(r_req, 1), 0) loop
      wi := array_position(w_ids, r_wallet[i]);
      ki := array_position(k_ids, r_key[i]);
      extra := r_charge[i] - r_amount[i];
      if extra > 0 then
        extra := least(extra, greatest(w_avail[wi], 0));
        if ki is not null and k_avail[ki] is not null then extra := least(extra, greatest(k_avail[ki], 0)); end if;
        r_capped[i] := r_amount[i] + extra;
      end if;
      w_avail[wi] := w_avail[wi] + r_amount[i] - r_capped[i];
      if ki is not null then k_avail[ki] := k_avail[ki] + r_amount[i] - r_capped[i]; end if;
    end loop;
  end if;

  with r as (select x.ri, x.wl, x.amount, x.charge, x.capped, x.uw, x.ord,
                    greatest(0, least(x.capped, g.granted - (sum(x.capped) over (partition by x.wl order by x.ord) - x.capped)))::int8 as from_granted
             from unnest(r_req, r_wallet, r_amount, r_charge, r_capped, r_uncollected) with ordinality as x(ri, wl, amount, charge, capped, uw, ord)
             join unnest(w_ids, w_granted) as g(id, granted) on g.id = x.wl),
       c as (select x.cr as ri, x.cw as wl, x.ca as amount, x.ord
             from unnest(p_credit_request, p_credit_wallet, p_credit_amount) with ordinality as x(cr, cw, ca, ord)
             where x.cr = any(posting)),
       e as (select r.ri, r.wl, v.funding, v.amount, r.ord, v.part
             from r cross join lateral (values (1, 'granted', -r.from_granted), (2, 'paid', -(r.capped - r.from_granted))) as v(part, funding, amount)
             union all
             select r.ri, r.uw, 'paid', -(r.charge - r.capped), 2000000 + r.ord, 1 from r where r.charge > r.capped
             union all
             select c.ri, c.wl, 'paid', c.amount, 1000000 + c.ord, 1 from c),
       resolved as (update holds set outcome = 'posted', charged_nanos = x.capped, written_off_nanos = x.charge - x.capped, resolved_at = now()
                    from unnest(r_hold, r_charge, r_capped) as x(id, charge, capped) where holds.id = x.id),
       t as (insert into transfers (kind, cause, memo)
             select 'usage', p_request_ids[ri], p_memos[ri] from unnest(posting) as ri
             returning id, cause),
       tr as (select ri, t.id from unnest(posting) as ri join t on t.cause = p_request_ids[ri]),
       ins as (insert into entries (transfer_id, wallet_id, funding, amount_nanos)
               select tr.id, e.wl, e.funding, e.amount from e join tr on tr.ri = e.ri
               where e.amount <> 0 order by e.ord, e.part),
       changes as (select wl, sum(held)::int8 as held, sum(paid)::int8 as paid, sum(granted)::int8 as granted from (
                     select r.wl, -r.amount as held, -(r.capped - r.from_granted) as paid, -r.from_granted as granted from r
                     union all
                     select r.uw, 0, -(r.charge - r.capped), 0 from r where r.charge > r.capped
                     union all
                     select c.wl, 0, c.amount, 0 from c) all_changes group by wl),
       moved as (update wallets set held_nanos = held_nanos + changes.held, paid_nanos = paid_nanos + changes.paid,
                   granted_nanos = granted_nanos + changes.granted
                 from changes where wallets.id = changes.wl)
  select coalesce(array_agg(tr.ri), '{}'), coalesce(array_agg(tr.id), '{}') into t_req, t_ids from tr;

  update api_keys set held_nanos = held_nanos - d.held, spent_nanos = spent_nanos + d.spent
    from (select k, sum(a)::int8 as held, sum(c)::int8 as spent from unnest(r_key, r_amount, r_capped) as x(k, a, c) where k is not null group by k) d
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
