import { migrate } from '../db/migrate.ts';
import { connectDatabase, type Sql } from '../db/sql.ts';
import { requestedMutationSql } from './teeth/mutations.ts';

/**
 * Shared test helpers. tests/run.ts starts one PostgreSQL and one Redis per run and migrates a
 * template database once; every test file then gets its own copy of that template, so files
 * cannot see each other's data and no file pays for the migrations.
 */

const TEMPLATE_DATABASE = 'tollgate_template';
const CLOSE_TIMEOUT_SECONDS = 5;

type TestDatabase = { sql: Sql; url: string };

function required(name: 'TEST_DATABASE_URL' | 'TEST_REDIS_URL'): string {
  const value = process.env[name];
  if (!value)
    throw new Error(
      `${name} is not set: run the tests with \`bash scripts/test.sh [filters]\`, which starts PostgreSQL and Redis`,
    );
  return value;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * Clients by the test file that made them. Bun runs every file in one process and `afterAll`
 * cannot do the closing (registered from inside a `beforeAll`, where most files call
 * testDatabase, it runs at once), so the clients of files that have finished are closed when the
 * next file asks for a database; the number of open connections stays bounded however many
 * files run.
 */
const clientsByFile = new Map<string, Sql[]>();

async function closeFinishedFiles(): Promise<void> {
  const finished = [...clientsByFile].filter(([file]) => file !== Bun.main);
  for (const [file] of finished) clientsByFile.delete(file);
  await Promise.all(
    finished.flatMap(([, clients]) => clients.map((sql) => sql.end({ timeout: CLOSE_TIMEOUT_SECONDS }))),
  );
}

/** A new database for the calling test file, copied from the migrated template. */
export async function testDatabase(): Promise<TestDatabase> {
  const base = required('TEST_DATABASE_URL');
  await closeFinishedFiles();
  const name = `tg_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = connectDatabase(base, { maxConnections: 1 });
  try {
    const [template] = await admin`select 1 from pg_database where datname = ${TEMPLATE_DATABASE}`;
    if (!template)
      throw new Error(
        `database ${TEMPLATE_DATABASE} is missing: run the tests with \`bash scripts/test.sh\`, which creates it`,
      );
    await admin.unsafe(`create database ${name} template ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(base, name);
  const sql = connectDatabase(url);
  clientsByFile.set(Bun.main, [...(clientsByFile.get(Bun.main) ?? []), sql]);
  return { sql, url };
}

export function testRedisUrl(): string {
  return required('TEST_REDIS_URL');
}

/** (Re)creates the template database and migrates it (then breaks it on purpose if tests/teeth.ts asks); tests/run.ts calls it before `bun test`. */
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
    const mutation = requestedMutationSql();
    if (mutation) await template.unsafe(mutation);
  } finally {
    await template.end();
  }
}

/**
 * A data directory inside the test run's folder (removed with it): where a platform without
 * SMTP_URL writes its e-mails, instead of the developer's ./.tollgate.
 */
export function testDataDir(): string {
  return `${process.env.TOLLGATE_TEST_DIR ?? '/tmp/tollgate-test'}/data-${crypto.randomUUID().slice(0, 8)}`;
}
