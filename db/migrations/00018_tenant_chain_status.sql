-- Suspension covers a whole subtree: a tenant is usable only while it and every tenant above it
-- are active, since a sub-reseller's customers run on its parents' wholesale credit. One function,
-- so every check of a tenant (API keys on /v1, sessions, sign-in, minting keys and tokens) gives
-- the same answer. The walk is bounded like tenantChain's (db/queries/tenants.ts).
create function tenant_chain_status(p_tenant_id uuid) returns text
language sql stable
as $$
  with recursive chain as (
    select t.parent_id, t.status, 0 as depth from tenants t where t.id = p_tenant_id
    union all
    select p.parent_id, p.status, c.depth + 1 from tenants p join chain c on p.id = c.parent_id where c.depth < 32
  )
  select case when bool_or(chain.status <> 'active') then 'suspended' else 'active' end from chain
$$;
