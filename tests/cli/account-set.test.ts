import { beforeAll, describe, expect, test } from 'bun:test';
import { testDatabase } from '../helpers.ts';
import { expectOneLineFailure, runCli, runCliJson } from './run-cli.ts';

/** `tollgate account set`: role, status and a portal password without hand-written SQL. */

let db: Awaited<ReturnType<typeof testDatabase>>;
let env: Record<string, string>;

beforeAll(async () => {
  db = await testDatabase();
  env = { DATABASE_URL: db.url };
  await runCliJson(['account', 'create', '--email', 'ops@example.com'], env);
});

async function stored(): Promise<{ role: string; status: string; password_hash: string | null }> {
  const [row] = await db.sql<
    { role: string; status: string; password_hash: string | null }[]
  >`select role, status, password_hash from accounts where email = 'ops@example.com'`;
  if (!row) throw new Error('no account');
  return row;
}

describe('tollgate account set', () => {
  test('sets the built-in sign-in password from stdin, stored only as an argon2id hash', async () => {
    const result = await runCli(
      ['account', 'set', '--account', 'ops@example.com', '--password-stdin', '--json'],
      env,
      'a long enough secret\n',
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).not.toContain('a long enough secret');
    const { password_hash: hash } = await stored();
    expect(hash).toStartWith('$argon2id$');
    expect(await Bun.password.verify('a long enough secret', hash ?? '')).toBe(true);
  });

  test('makes an account an admin and suspends it, then reactivates it', async () => {
    const changed = await runCliJson<{ role: string; status: string }>(
      ['account', 'set', '--account', 'ops@example.com', '--role', 'admin', '--status', 'suspended'],
      env,
    );
    expect(changed).toMatchObject({ role: 'admin', status: 'suspended' });
    expect(await stored()).toMatchObject({ role: 'admin', status: 'suspended' });
    await runCliJson(['account', 'set', '--account', 'ops@example.com', '--status', 'active'], env);
    expect((await stored()).status).toBe('active');
  });

  test('refuses a short password, a bad role or status, nothing to change and an unknown account', async () => {
    expectOneLineFailure(
      await runCli(['account', 'set', '--account', 'ops@example.com', '--password-stdin'], env, 'short\n'),
      2,
      /must have 8 to 200 characters/,
    );
    expectOneLineFailure(
      await runCli(['account', 'set', '--account', 'ops@example.com', '--role', 'root'], env),
      2,
      /--role must be one of customer, admin, operator/,
    );
    expectOneLineFailure(
      await runCli(['account', 'set', '--account', 'ops@example.com', '--status', 'gone'], env),
      2,
      /--status must be one of active, suspended/,
    );
    expectOneLineFailure(await runCli(['account', 'set', '--account', 'ops@example.com'], env), 2, /nothing to change/);
    expectOneLineFailure(
      await runCli(['account', 'set', '--account', 'ghost@example.com', '--role', 'admin'], env),
      2,
      /no account "ghost@example.com"/,
    );
  });
});
