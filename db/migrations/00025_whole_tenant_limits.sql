-- A tenant's own policy is the default of each of its accounts, counted for each account apart,
-- and an account's own policy replaces it (issue 21.1). A cap on the tenant as a whole, counting
-- every one of its customers together, is a separate policy: whole_tenant_id. Tenant policies set
-- before this migration counted all customers together; they are kept, as the per-account default
-- the console always said they were.
alter table rate_limit_policies add column whole_tenant_id uuid references tenants(id);
alter table rate_limit_policies drop constraint rate_limit_policies_check;
alter table rate_limit_policies add constraint rate_limit_policies_one_subject
  check (num_nonnulls(tenant_id, whole_tenant_id, account_id, api_key_id) = 1);
create unique index rate_limit_policies_whole_tenant on rate_limit_policies (whole_tenant_id)
  where whole_tenant_id is not null;
