-- The sweeper's index of open holds is keyed on resolved_at instead of outcome (the two are null
-- together: a check constraint on holds). The money functions find the holds they resolve by
-- request id and `outcome is null`; with the index predicate on outcome, their cached generic
-- plans used this index instead of the unique (request_id, wallet_id) one, and it keeps an entry
-- for every hold resolved since the last vacuum: at one connection, a settlement of five requests
-- spent 0.85 ms scanning 2,500 such entries, with its wallet rows locked and the next holds
-- waiting. Queries meant for this index (the sweeper, verify, /metrics) say `resolved_at is null`.
drop index holds_open_by_expiry;
create index holds_open_by_expiry on holds (expires_at) where resolved_at is null;

-- And a generic plan made while the holds table was small (a fresh database, the first requests)
-- seq-scanned it, and stayed cached on that connection as the table grew. Holds are always
-- reached by key.
alter function post_settlements set enable_seqscan = off;
alter function release_holds set enable_seqscan = off;
