import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import Redis from 'ioredis';
import { listMigrations } from '../db/migrate.ts';
import type { Sql } from '../db/sql.ts';
import { testDatabase, testRedisUrl } from './helpers.ts';

/** The test infrastructure itself: the per-file database copies and the run's Redis. */

describe('test databases', () => {
  let first: Sql;
  let second: Sql;

  beforeAll(async () => {
    ({ sql: first } = await testDatabase());
    ({ sql: second } = await testDatabase());
  });

  test('arrive with every migration applied, starting with 00001_core.sql', async () => {
    const rows = await first<{ name: string }[]>`select name from schema_migrations order by version`;
    const applied = rows.map((row) => row.name);
    expect(applied[0]).toBe('00001_core.sql');
    expect(applied).toEqual((await listMigrations()).map((migration) => migration.name));
  });

  test('are separate databases, so one never sees what another wrote', async () => {
    const [[a], [b]] = await Promise.all([
      first`select current_database() as name`,
      second`select current_database() as name`,
    ]);
    expect(a?.name).not.toBe(b?.name);
    await first`create table sanity_marker (id integer)`;
    const [found] = await second`select to_regclass('sanity_marker') as marker`;
    expect(found?.marker).toBeNull();
  });
});

describe('test redis', () => {
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  });
  afterAll(() => redis.disconnect());

  test('answers PING', async () => {
    expect(await redis.ping()).toBe('PONG');
  });
});
