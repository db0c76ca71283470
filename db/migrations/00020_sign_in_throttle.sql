-- Sign-in and sign-up attempts counted per account and per client address (schema/throttle.ts),
-- here rather than in memory so every replica sees the same counts. A row is one counter: its
-- failures within the memory window, when the last one was, and a lockout's end. Rows are
-- forgotten once their window has passed (db/queries/sign-in-throttle.ts deletes them in bounded
-- batches), so the table stays as small as the attempts of the last minutes.
create table sign_in_throttle (
  key text primary key check (length(key) <= 200),
  failures integer not null check (failures >= 0),
  last_failure_at timestamptz not null,
  locked_until timestamptz
);
create index sign_in_throttle_stale on sign_in_throttle (last_failure_at);
