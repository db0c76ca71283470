import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sql, TransactionSql } from './sql.ts';

const MIGRATIONS_DIR = join(import.meta.dir, 'migrations');
const FUNCTIONS_DIR = join(import.meta.dir, 'functions');
/** Any constant works; it only has to be the same in every Tollgate process. */
const MIGRATION_LOCK_ID = 7_461_206_001;
const MIGRATION_FILE = /^(\d{5})_[a-z0-9_]+\.sql$/;
const FUNCTION_FILE = /^[a-z0-9_]+\.sql$/;
/** How applied function files are named in migrate's answer (and so in the start-up log). */
const FUNCTION_PREFIX = 'functions/';

export type Migration = { version: number; name: string; path: string };
export type MigrationDirs = { migrations?: string; functions?: string };

export async function listMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  return files.map((file) => {
    const match = MIGRATION_FILE.exec(file);
    if (!match) throw new Error(`migration file name "${file}" must look like 00001_name.sql`);
    return { version: Number(match[1]), name: file, path: join(dir, file) };
  });
}

async function listFunctionFiles(dir: string): Promise<{ name: string; path: string }[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  return files.map((file) => {
    if (!FUNCTION_FILE.test(file)) throw new Error(`function file name "${file}" must look like name.sql`);
    return { name: file, path: join(dir, file) };
  });
}

/** Every step of a run waits for the others' lock, so concurrent starts apply each change once. */
async function lockAndPrepare(tx: TransactionSql): Promise<void> {
  await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_ID})`;
  await tx`create table if not exists schema_migrations (
    version integer primary key, name text not null, applied_at timestamptz not null default now())`;
  await tx`create table if not exists schema_functions (
    name text primary key, checksum text not null, applied_at timestamptz not null default now())`;
}

/**
 * Applies pending migrations in order, each in its own transaction, then the function files
 * (db/functions: the current definition of each SQL function, `create or replace`) whose text
 * changed since they were last applied, as Flyway applies repeatable migrations. So a function's
 * body is kept once and edited in place; the copies in old migrations are history. A
 * transaction-scoped advisory lock makes concurrent starts safe: a second process waits, then
 * finds the migration or the checksum recorded. Returns what it applied: migration file names,
 * and function files as `functions/<name>.sql`.
 */
export async function migrate(sql: Sql, dirs: MigrationDirs = {}): Promise<string[]> {
  const done: string[] = [];
  for (const migration of await listMigrations(dirs.migrations)) {
    const applied = await sql.begin(async (tx) => {
      await lockAndPrepare(tx);
      const [existing] = await tx`select 1 from schema_migrations where version = ${migration.version}`;
      if (existing) return false;
      await tx.file(migration.path);
      await tx`insert into schema_migrations (version, name) values (${migration.version}, ${migration.name})`;
      return true;
    });
    if (applied) done.push(migration.name);
  }
  for (const file of await listFunctionFiles(dirs.functions ?? FUNCTIONS_DIR)) {
    const text = await Bun.file(file.path).text();
    const checksum = new Bun.CryptoHasher('sha256').update(text).digest('hex');
    const applied = await sql.begin(async (tx) => {
      await lockAndPrepare(tx);
      const [existing] = await tx`select 1 from schema_functions where name = ${file.name} and checksum = ${checksum}`;
      if (existing) return false;
      await tx.unsafe(text);
      await tx`insert into schema_functions (name, checksum) values (${file.name}, ${checksum})
        on conflict (name) do update set checksum = excluded.checksum, applied_at = now()`;
      return true;
    });
    if (applied) done.push(`${FUNCTION_PREFIX}${file.name}`);
  }
  return done;
}
