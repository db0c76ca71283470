import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sql } from './sql.ts';

const MIGRATIONS_DIR = join(import.meta.dir, 'migrations');
/** Any constant works; it only has to be the same in every Tollgate process. */
const MIGRATION_LOCK_ID = 7_461_206_001;
const MIGRATION_FILE = /^(\d{5})_[a-z0-9_]+\.sql$/;

export type Migration = { version: number; name: string; path: string };

export async function listMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  return files.map((file) => {
    const match = MIGRATION_FILE.exec(file);
    if (!match) throw new Error(`migration file name "${file}" must look like 00001_name.sql`);
    return { version: Number(match[1]), name: file, path: join(dir, file) };
  });
}

/**
 * Applies pending migrations in order, each in its own transaction. A transaction-scoped advisory
 * lock makes concurrent starts safe: a second process waits, then finds the migration recorded.
 */
export async function migrate(sql: Sql, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await listMigrations(dir);
  const done: string[] = [];
  for (const migration of migrations) {
    const applied = await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_ID})`;
      await tx`create table if not exists schema_migrations (
        version integer primary key, name text not null, applied_at timestamptz not null default now())`;
      const [existing] = await tx`select 1 from schema_migrations where version = ${migration.version}`;
      if (existing) return false;
      await tx.file(migration.path);
      await tx`insert into schema_migrations (version, name) values (${migration.version}, ${migration.name})`;
      return true;
    });
    if (applied) done.push(migration.name);
  }
  return done;
}
