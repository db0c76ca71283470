import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '../../db/migrate.ts';
import { connectDatabase, type Sql } from '../../db/sql.ts';
import { testDatabase } from '../helpers.ts';

/** db/migrate.ts: versioned migrations once each, then the function files whenever they change. */

const FUNCTIONS = join(import.meta.dir, '..', '..', 'db', 'functions');

let sql: Sql;
let url: string;
let functions: string;

beforeAll(async () => {
  ({ sql, url } = await testDatabase());
  functions = await mkdtemp(join(tmpdir(), 'tollgate-functions-'));
  await cp(FUNCTIONS, functions, { recursive: true });
});

afterAll(async () => {
  await rm(functions, { recursive: true, force: true });
});

/** Edits release_holds' body in the copied folder, so the database can show which text it runs. */
async function markReleaseHolds(marker: string): Promise<void> {
  const path = join(functions, 'release_holds.sql');
  const text = await readFile(path, 'utf8');
  const marked = text.replace(/\nbegin\n(-- marker \S+\n)?/, `\nbegin\n-- marker ${marker}\n`);
  expect(marked).not.toBe(text);
  await writeFile(path, marked);
}

async function releaseHoldsSource(db: Sql = sql): Promise<string> {
  const [row] = await db<{ src: string }[]>`select prosrc as src from pg_proc where proname = 'release_holds'`;
  return row?.src ?? '';
}

describe('function files', () => {
  test('an unchanged function file is not applied again', async () => {
    expect(await migrate(sql, { functions })).toEqual([]);
  });

  test('a changed function file is applied once, then not again until it changes', async () => {
    await markReleaseHolds('first');
    expect(await migrate(sql, { functions })).toEqual(['functions/release_holds.sql']);
    expect(await releaseHoldsSource()).toContain('-- marker first');
    expect(await migrate(sql, { functions })).toEqual([]);
    const [row] = await sql<{ count: number }[]>`select count(*)::int4 as count from schema_functions`;
    expect(row?.count).toBe(4);
  });

  test('two concurrent migrate runs apply a changed function file once', async () => {
    await markReleaseHolds('second');
    const a = connectDatabase(url, { maxConnections: 1 });
    const b = connectDatabase(url, { maxConnections: 1 });
    try {
      const [fromA, fromB] = await Promise.all([migrate(a, { functions }), migrate(b, { functions })]);
      expect([...fromA, ...fromB]).toEqual(['functions/release_holds.sql']);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
    expect(await releaseHoldsSource()).toContain('-- marker second');
  });

  test('a migrated database records every function file by its checksum and runs the settings it names', async () => {
    const rows = await sql<
      { name: string; checksum: string }[]
    >`select name, checksum from schema_functions order by name`;
    expect(rows.map((row) => row.name)).toEqual([
      'place_holds.sql',
      'place_whole_holds.sql',
      'post_settlements.sql',
      'release_holds.sql',
    ]);
    const [posting] = rows.filter((row) => row.name === 'post_settlements.sql');
    const text = await readFile(join(FUNCTIONS, 'post_settlements.sql'), 'utf8');
    expect(posting?.checksum).toBe(new Bun.CryptoHasher('sha256').update(text).digest('hex'));
    const configs = await sql<{ config: string[] | null }[]>`
      select proconfig as config from pg_proc where proname in ('post_settlements', 'release_holds')`;
    for (const row of configs) expect(row.config).toEqual(['plan_cache_mode=force_generic_plan', 'enable_seqscan=off']);
  });
});
