import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Deliberate breakages of the ledger's defences (LEDGER-INVARIANTS.md: "remove the row lock or the
 * conditional update, or drop a unique constraint, and a named test must go red"). Each one is
 * applied to the test template database after it is migrated, when TOLLGATE_TEST_MUTATION names
 * it; `bun run tests/teeth.ts` checks that its named test passes without it and fails with it.
 * A mutation that edits a function file's text fails loudly when that text is no longer there.
 */

/**
 * `defence`: for a mutation that rewrites functions, the text it removes from them. Once it is
 * applied, no function in the database may still contain it (tests/teeth/mutations.test.ts):
 * otherwise another function keeps a copy of the defence, and the mutation breaks only one of
 * them.
 */
export type Mutation = {
  name: string;
  breaks: string;
  file: string;
  test: string;
  sql: () => string;
  defence?: string;
};

/** The current definitions of the SQL functions (db/migrate.ts applies them after the migrations). */
const FUNCTIONS = join(import.meta.dir, '..', '..', 'db', 'functions');

/** A function file again, with one piece of text replaced. */
function editedFunction(file: string, defence: string, replaceWith: string): Pick<Mutation, 'sql' | 'defence'> {
  return {
    defence,
    sql: () => {
      const text = readFileSync(join(FUNCTIONS, file), 'utf8');
      if (!text.includes(defence))
        throw new Error(`mutation no longer applies: db/functions/${file} does not contain ${JSON.stringify(defence)}`);
      return text.replace(defence, replaceWith);
    },
  };
}

export const MUTATIONS: Mutation[] = [
  {
    name: 'hold-without-balance-check',
    breaks: 'the conditional update: a hold no longer checks paid + granted - held >= amount',
    file: 'tests/db/ledger.test.ts',
    test: '200 concurrent holds on a balance covering exactly 100',
    ...editedFunction(
      'place_whole_holds.sql',
      'where w.paid_nanos + w.granted_nanos - w.held_nanos >= a.amount::numeric * (1 + p_headroom)',
      'where true',
    ),
  },
  {
    name: 'hold-without-row-lock',
    breaks: 'the row lock: a hold checks the balance it read without locking the wallet row',
    file: 'tests/db/ledger.test.ts',
    test: '200 concurrent holds on a balance covering exactly 100',
    ...editedFunction('place_whole_holds.sql', 'order by w.id for update of w', 'order by w.id'),
  },
  {
    name: 'post-resolves-twice',
    breaks: 'resolve-once: a post no longer skips a hold that is already resolved',
    file: 'tests/db/ledger.test.ts',
    test: 'replaying a post changes nothing and answers truthfully',
    ...editedFunction('post_settlements.sql', 'h.wallet_id = d.wl and h.outcome is null', 'h.wallet_id = d.wl'),
  },
  {
    name: 'settlement-without-cap',
    breaks: 'the settlement cap: a charge above its hold is taken whole, whatever the wallet has available',
    file: 'tests/db/capped-settlement.test.ts',
    test: 'takes only what the wallet has available and writes the rest off',
    ...editedFunction('post_settlements.sql', 'extra := least(extra, greatest(w_avail[wi], 0));', ''),
  },
  {
    name: 'transfer-cause-not-unique',
    breaks: 'a unique constraint: (kind, cause) of a transfer',
    file: 'tests/db/ledger.test.ts',
    test: 'replaying a purchase with the same cause changes nothing',
    sql: () => 'alter table transfers drop constraint transfers_kind_cause_key',
  },
  {
    name: 'entries-rewritable',
    breaks: 'append-only: the trigger that refuses UPDATE and DELETE on entries',
    file: 'tests/db/ledger.test.ts',
    test: 'entries and transfers refuse UPDATE and DELETE',
    sql: () => 'drop trigger entries_append_only on entries',
  },
];

/** The SQL of the mutation this test run was asked for, if any. */
export function requestedMutationSql(): string | undefined {
  const name = process.env.TOLLGATE_TEST_MUTATION;
  if (!name) return undefined;
  const mutation = MUTATIONS.find((m) => m.name === name);
  if (!mutation)
    throw new Error(`unknown TOLLGATE_TEST_MUTATION ${name}; known: ${MUTATIONS.map((m) => m.name).join(', ')}`);
  return mutation.sql();
}
