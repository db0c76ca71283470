import { expect, test } from 'bun:test';
import { testDatabase } from '../helpers.ts';
import { MUTATIONS } from './mutations.ts';

// The teeth check (tests/teeth.ts) is not part of the suite; this part of it is cheap and is.
test.each(MUTATIONS.filter((m) => m.defence !== undefined).map((m) => [m.name, m] as const))(
  'mutation %s removes its defence from every function that has it',
  async (_, mutation) => {
    const { sql } = await testDatabase();
    await sql.unsafe(mutation.sql());
    const still = await sql<{ proname: string }[]>`
      select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'public' and strpos(p.prosrc, ${mutation.defence ?? ''}) > 0`;
    expect(still.map((row) => row.proname)).toEqual([]);
  },
);
