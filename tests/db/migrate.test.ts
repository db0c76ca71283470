import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listMigrations, migrate } from '../../db/migrate.ts';
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

  test('a new database gets every migration, then every function file, with the settings the files name', async () => {
    const name = `tg_fresh_${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;
    await sql.unsafe(`create database ${name}`);
    const fresh = connectDatabase(url.replace(/\/[^/?]+(\?|$)/, `/${name}$1`), { maxConnections: 1 });
    try {
      const applied = await migrate(fresh);
      const migrations = (await listMigrations()).map((migration) => migration.name);
      expect(applied).toEqual([
        ...migrations,
        'functions/place_holds.sql',
        'functions/place_whole_holds.sql',
        'functions/post_settlements.sql',
        'functions/release_holds.sql',
      ]);
      const rows = await fresh<{ name: string; config: string[] | null }[]>`
        select proname as name, proconfig as config from pg_proc
        where proname in ('post_settlements', 'release_holds') order by proname`;
      for (const row of rows) expect(row.config).toEqual(['plan_cache_mode=force_generic_plan', 'enable_seqscan=off']);
    } finally {
      await fresh.end();
      await sql.unsafe(`drop database ${name}`);
    }
  });
});
