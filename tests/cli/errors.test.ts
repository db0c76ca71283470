import { beforeAll, describe, expect, test } from 'bun:test';
import { testDatabase } from '../helpers.ts';
import { expectOneLineFailure, runCliProcess } from './run-cli.ts';

/** Nothing listens on port 1 of the loopback address, so connecting fails at once. */
const UNREACHABLE = { DATABASE_URL: 'postgres://tollgate:secret-password@127.0.0.1:1/tollgate' };

let env: Record<string, string>;

beforeAll(async () => {
  env = { DATABASE_URL: (await testDatabase()).url };
});

describe('bad input gives one line on stderr and exit code 2', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown command', ['frobnicate'], /unknown command "frobnicate"/],
    ['an unknown subcommand', ['tenant', 'frob'], /unknown command "tenant frob"/],
    ['a group without a subcommand', ['credits'], /missing subcommand, one of: grant/],
    ['an unknown option', ['balance', '--account', 'a@b.c', '--colour'], /unknown option --colour/],
    ['a missing --email', ['account', 'create'], /--email is required/],
    ['an option without its value', ['account', 'create', '--email'], /--email needs a value/],
    ['a malformed email', ['account', 'create', '--email', 'not-an-email'], /--email must look like/],
    [
      '--usd abc',
      ['credits', 'grant', '--account', 'a@b.c', '--usd', 'abc', '--reason', 'r'],
      /--usd must be a USD amount/,
    ],
    [
      '--usd with ten decimals',
      ['credits', 'grant', '--account', 'a@b.c', '--usd', '1.0000000001', '--reason', 'r'],
      /at most 9 decimals/,
    ],
    [
      'a negative amount',
      ['credits', 'grant', '--account', 'a@b.c', '--usd=-1', '--reason', 'r'],
      /--usd must be more than zero/,
    ],
    ['a missing reason', ['credits', 'grant', '--account', 'a@b.c', '--usd', '1'], /--reason is required/],
    [
      'a malformed percentage',
      ['tenant', 'create', '--slug', 's', '--name', 'n', '--markup-percent', '20%'],
      /--markup-percent must be a percentage/,
    ],
    ['a stray argument', ['ledger', 'verify', 'now'], /unexpected argument "now"/],
  ];
  for (const [name, args, pattern] of cases) {
    test(`refuses ${name} before touching the database`, async () => {
      expectOneLineFailure(await runCliProcess(args, UNREACHABLE), 2, pattern);
    });
  }

  test('refuses an unknown account', async () => {
    expectOneLineFailure(
      await runCliProcess(['credits', 'grant', '--account', 'ghost@example.com', '--usd', '1', '--reason', 'r'], env),
      2,
      /no account "ghost@example.com" in tenant root/,
    );
    expectOneLineFailure(
      await runCliProcess(['balance', '--account', '00000000-0000-4000-8000-000000000000'], env),
      2,
      /no account/,
    );
  });

  test('says "no account" or "no key" for an id of 36 dashes and hex digits that is not a UUID', async () => {
    const notUuid = `${'a'.repeat(35)}-`;
    expectOneLineFailure(await runCliProcess(['balance', '--account', notUuid], env), 2, /no account/);
    expectOneLineFailure(await runCliProcess(['key', 'revoke', notUuid], env), 2, /no key/);
    expectOneLineFailure(await runCliProcess(['limits', 'show', '--key', notUuid], env), 2, /no key/);
  });

  test('refuses an unknown tenant', async () => {
    expectOneLineFailure(
      await runCliProcess(['pricing', 'list', '--tenant', 'atlantis'], env),
      2,
      /no tenant "atlantis"/,
    );
  });
});

describe('configuration and runtime failures', () => {
  test('names the bad variable in a configuration error', async () => {
    expectOneLineFailure(
      await runCliProcess(['balance', '--account', 'a@b.c'], { DATABASE_URL: 'mysql://x' }),
      2,
      /^tollgate: configuration: DATABASE_URL: /,
    );
    expectOneLineFailure(
      await runCliProcess(['migrate'], { ...env, TOLLGATE_DEFAULT_MARKUP_PERCENT: 'lots' }),
      2,
      /configuration: TOLLGATE_DEFAULT_MARKUP_PERCENT: /,
    );
  });

  test('reports an unreachable database in one line with exit code 1 and without its password', async () => {
    const result = await runCliProcess(['balance', '--account', 'a@b.c'], UNREACHABLE);
    expectOneLineFailure(result, 1, /cannot reach the database/);
    expect(result.stderr).not.toContain('secret-password');
  });
});

describe('help', () => {
  test('lists the commands and describes each one without a database', async () => {
    const general = await runCliProcess(['--help'], UNREACHABLE);
    expect(general.exitCode).toBe(0);
    for (const command of ['migrate', 'tenant create', 'key revoke', 'credits grant', 'ledger verify', 'holds sweep'])
      expect(general.stdout).toContain(command);
    const one = await runCliProcess(['credits', 'grant', '--help'], UNREACHABLE);
    expect(one.exitCode).toBe(0);
    expect(one.stdout).toContain('--idempotency-key');
    expect(one.stdout).toContain('--json');
  });
});
