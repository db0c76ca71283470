import { migrate } from '../db/migrate.ts';
import { connectDatabase, type Sql } from '../db/sql.ts';

/**
 * Shared test helpers. Every test file gets its own fresh database, copied from a template that
 * tests/run.ts migrated once for the run, so files cannot see each other's data.
 */

export const TEMPLATE_DATABASE = 'tollgate_template';

function required(name: 'TEST_DATABASE_URL'): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with \`bash scripts/test.sh\` (it starts PostgreSQL and Redis)`);
  return value;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function testDatabase(): Promise<{ sql: Sql; url: string }> {
  const base = required('TEST_DATABASE_URL');
  const name = `tg_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = connectDatabase(base, { maxConnections: 1 });
  try {
    const [template] = await admin`select 1 from pg_database where datname = ${TEMPLATE_DATABASE}`;
    await admin.unsafe(template ? `create database ${name} template ${TEMPLATE_DATABASE}` : `create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(base, name);
  const sql = connectDatabase(url);
  await migrate(sql);
  return { sql, url };
}

export function testRedisUrl(): string | undefined {
  return process.env.TEST_REDIS_URL;
}

/** Creates and migrates the template database; tests/run.ts calls it once per run. */
export async function prepareTemplate(baseUrl: string): Promise<void> {
  const admin = connectDatabase(baseUrl, { maxConnections: 1 });
  try {
    await admin.unsafe(`drop database if exists ${TEMPLATE_DATABASE}`);
    await admin.unsafe(`create database ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const template = connectDatabase(withDatabase(baseUrl, TEMPLATE_DATABASE), { maxConnections: 1 });
  try {
    await migrate(template);
  } finally {
    await template.end();
  }
}
