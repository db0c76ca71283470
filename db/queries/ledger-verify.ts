import type { Db } from '../sql.ts';

/**
 * The checks behind `tollgate ledger verify`: each query returns the rows that break one
 * invariant of ../shared/LEDGER-INVARIANTS.md (numbers in brackets), so an empty result is clean.
 */

export type Violation = { check: string; detail: string };

/** Open holds may outlive their expiry by this much before it counts as a fault (the sweeper's period). */
const HOLD_EXPIRY_GRACE_SECONDS = 120;
const MAX_REPORTED_PER_CHECK = 20;

type Check = { name: string; run: (db: Db) => Promise<Record<string, unknown>[]> };

const CHECKS: Check[] = [
  {
    name: 'transfer entries sum to zero [1]',
    run: (db) => db`select t.id, t.kind, t.cause, sum(e.amount_nanos)::text as sum
      from transfers t join entries e on e.transfer_id = t.id group by t.id having sum(e.amount_nanos) <> 0`,
  },
  {
    name: 'every entry and hold names an existing transfer, wallet and key [1]',
    run: (db) => db`select 'entry' as row, e.id::text as id from entries e
        where not exists (select 1 from wallets w where w.id = e.wallet_id) or not exists (select 1 from transfers t where t.id = e.transfer_id)
      union all
      select 'hold', h.id::text from holds h
        where not exists (select 1 from wallets w where w.id = h.wallet_id)
           or (h.api_key_id is not null and not exists (select 1 from api_keys k where k.id = h.api_key_id))`,
  },
  {
    name: 'ledger tables refuse updates and deletes [3]',
    run: (
      db,
    ) => db`select name from unnest(array['transfers_append_only', 'entries_append_only', 'holds_resolve_once']) as name
      where not exists (select 1 from pg_trigger where tgname = name and tgenabled <> 'D')`,
  },
  {
    name: 'cached paid and granted balances equal the sum of entries [2]',
    run: (db) => db`select w.id as wallet, w.paid_nanos::text as cached_paid, coalesce(e.paid, 0)::text as entries_paid,
        w.granted_nanos::text as cached_granted, coalesce(e.granted, 0)::text as entries_granted
      from wallets w left join (
        select wallet_id, sum(amount_nanos) filter (where funding = 'paid') as paid,
               sum(amount_nanos) filter (where funding = 'granted') as granted
        from entries group by wallet_id) e on e.wallet_id = w.id
      where w.paid_nanos <> coalesce(e.paid, 0) or w.granted_nanos <> coalesce(e.granted, 0)`,
  },
  {
    name: 'cached held balances equal the open holds [2]',
    run: (db) => db`select w.id as wallet, w.held_nanos::text as cached, coalesce(h.open, 0)::text as open_holds
      from wallets w left join (select wallet_id, sum(amount_nanos) as open from holds where outcome is null group by wallet_id) h
        on h.wallet_id = w.id
      where w.held_nanos <> coalesce(h.open, 0)`,
  },
  {
    name: 'key spend and holds equal their holds [2]',
    run: (db) => db`select k.public_id, k.held_nanos::text as cached_held, coalesce(h.open, 0)::text as open_holds,
        k.spent_nanos::text as cached_spent, k.spent_before_cap_nanos::text as before_cap, coalesce(h.spent, 0)::text as posted
      from api_keys k left join (
        select api_key_id, sum(amount_nanos) filter (where outcome is null) as open,
               sum(charged_nanos) filter (where outcome = 'posted') as spent
        from holds where api_key_id is not null group by api_key_id) h on h.api_key_id = k.id
      where k.held_nanos <> coalesce(h.open, 0) or k.spent_nanos <> k.spent_before_cap_nanos + coalesce(h.spent, 0)`,
  },
  {
    // Usage never takes a wallet below zero (a charge above its hold is capped and the rest written
    // off), and adjustments refuse to; only a refund or lost dispute of credit already spent can.
    name: 'no unexplained negative available credit [4]',
    run: (db) => db`select w.id as wallet, w.kind, (w.paid_nanos + w.granted_nanos - w.held_nanos)::text as available
      from wallets w
      where w.kind in ('customer', 'reseller') and w.paid_nanos + w.granted_nanos - w.held_nanos < 0
        and not exists (select 1 from entries e join transfers t on t.id = e.transfer_id
                        where e.wallet_id = w.id and t.kind in ('dispute', 'refund') and e.amount_nanos < 0)`,
  },
  {
    name: 'what a posted hold wrote off is on an uncollected book, in its usage transfer [5]',
    run: (db) => db`select t.cause as request_id, coalesce(h.written_off, 0)::text as held_written_off,
        coalesce(u.uncollected, 0)::text as uncollected
      from transfers t
      left join (select request_id, sum(written_off_nanos) as written_off from holds where outcome = 'posted' group by request_id) h
        on h.request_id = t.cause
      left join (select e.transfer_id, -sum(e.amount_nanos) as uncollected from entries e
                 join wallets w on w.id = e.wallet_id and w.kind = 'uncollected' group by e.transfer_id) u on u.transfer_id = t.id
      where t.kind = 'usage' and coalesce(h.written_off, 0) <> coalesce(u.uncollected, 0)`,
  },
  {
    name: 'every posted hold has its usage transfer, and every usage transfer its posted holds [5]',
    run: (db) => db`select h.request_id from holds h
        where h.outcome = 'posted' and not exists (select 1 from transfers t where t.kind = 'usage' and t.cause = h.request_id)
      union all
      select t.cause from transfers t
        where t.kind = 'usage' and not exists (select 1 from holds h where h.request_id = t.cause and h.outcome = 'posted')`,
  },
  {
    name: 'no hold is left open past its expiry [6]',
    run: (db) => db`select request_id, wallet_id as wallet, expires_at from holds
      where resolved_at is null and expires_at < now() - make_interval(secs => ${HOLD_EXPIRY_GRACE_SECONDS})`,
  },
];

export async function verifyLedger(db: Db): Promise<{ checks: number; violations: Violation[] }> {
  const violations: Violation[] = [];
  for (const check of CHECKS) {
    const rows = await check.run(db);
    for (const row of rows.slice(0, MAX_REPORTED_PER_CHECK))
      violations.push({
        check: check.name,
        detail: JSON.stringify(row, (_, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)),
      });
    if (rows.length > MAX_REPORTED_PER_CHECK)
      violations.push({ check: check.name, detail: `and ${rows.length - MAX_REPORTED_PER_CHECK} more` });
  }
  return { checks: CHECKS.length, violations };
}
