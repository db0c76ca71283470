-- A key given a credit cap after it has spent starts its cap counter (spent_nanos) from what it
-- has spent so far, from the usage log (db/queries/key-management.ts), so the cap bounds all of
-- its spend, as it says. This column keeps the part of the counter that no hold of the key
-- recorded, so `ledger verify` still checks the counter against the key's posted holds.
alter table api_keys add column spent_before_cap_nanos bigint not null default 0;
