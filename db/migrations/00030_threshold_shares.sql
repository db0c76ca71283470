-- A low-balance alert is either an amount or a share of the account's last top-up (its last paid
-- checkout or auto top-up, in basis points of the credit it bought). A share's amount follows the
-- top-ups: it is worked out at every check, and is unknown (the alert stays disarmed) until the
-- account has bought credit once.
alter table balance_thresholds alter column threshold_nanos drop not null;
alter table balance_thresholds add column share_bps integer check (share_bps between 1 and 10000);
alter table balance_thresholds add constraint balance_thresholds_amount_or_share
  check ((threshold_nanos is null) <> (share_bps is null));
alter table balance_thresholds add constraint balance_thresholds_account_share unique (account_id, share_bps);

-- The last top-up of an account, read by every check of an account with a share alert.
create index payments_account_paid on payments (account_id, paid_at desc) where status = 'paid';
