import { afterAll, expect, test } from 'bun:test';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { testDataDir } from '../helpers.ts';
import { runCli } from './run-cli.ts';

/**
 * With no DATABASE_URL the CLI starts the embedded PostgreSQL; when that makes a new database it
 * says where (so a CLI run from the wrong folder is noticed at once) and how to connect, and only then.
 */

const DATA_DIR = testDataDir();
/** Two runs of initdb or start-up and shut-down of a real server, on a loaded 2-core machine. */
const EMBEDDED_TIMEOUT_MS = 180_000;

afterAll(async () => {
  await rm(DATA_DIR, { recursive: true, force: true });
});

test(
  'a command that creates the embedded database says where it is and how to connect, and a later one says nothing',
  async () => {
    const env = { TOLLGATE_DATA_DIR: DATA_DIR, TOLLGATE_KEY_PEPPER: 'test-pepper-0123456789abcdef0123456789abcdef' };
    const first = await runCli(['migrate'], env);
    expect(first.exitCode).toBe(0);
    const cluster = join(resolve(DATA_DIR), 'postgres');
    expect(first.stderr).toContain(`a new embedded PostgreSQL database was created in ${cluster}`);
    expect(first.stderr).toContain(`TOLLGATE_DATA_DIR=${DATA_DIR}`);
    expect(first.stderr).toContain(`password in ${resolve(DATA_DIR)}/postgres.password`);
    expect(first.stderr).toContain('DATABASE_URL');
    expect(first.stdout).toContain('(embedded database)');

    const second = await runCli(['migrate'], env);
    expect(second.exitCode).toBe(0);
    expect(second.stderr).not.toContain('was created');
    expect(second.stdout).toContain('already up to date');
  },
  EMBEDDED_TIMEOUT_MS,
);
