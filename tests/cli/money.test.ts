import { beforeAll, describe, expect, test } from 'bun:test';
import { placeHolds } from '../../db/queries/holds.ts';
import { testDatabase } from '../helpers.ts';
import { expectOneLineFailure, runCli, runCliJson } from './run-cli.ts';

type Money = { nanos: string; usd: string };
type Balance = { paid: Money; granted: Money; held: Money; available: Money };
type Grant = { applied: boolean; transferId: string; kind: string; funding: string; cause: string; balance: Balance };

let db: Awaited<ReturnType<typeof testDatabase>>;
let env: Record<string, string>;
let walletId: string;

beforeAll(async () => {
  db = await testDatabase();
  env = { DATABASE_URL: db.url };
  const account = await runCliJson<{ walletId: string }>(['account', 'create', '--email', 'max@example.com'], env);
  walletId = account.walletId;
});

describe('tollgate credits grant and balance', () => {
  test('grants promotional credit from the tenant promotion book, with reason and actor in the memo', async () => {
    const grant = await runCliJson<Grant>(
      [
        'credits',
        'grant',
        '--account',
        'max@example.com',
        '--usd',
        '10.000000001',
        '--reason',
        'welcome',
        '--actor',
        'ops-anna',
      ],
      env,
    );
    expect(grant).toMatchObject({ applied: true, kind: 'grant', funding: 'granted' });
    expect(grant.cause).toMatch(/^cli:[0-9a-f-]{36}$/);
    const entries = await db.sql<
      { kind: string; funding: string; amount_nanos: bigint; memo: Record<string, unknown> }[]
    >`
      select w.kind, e.funding, e.amount_nanos, t.memo from entries e join wallets w on w.id = e.wallet_id join transfers t on t.id = e.transfer_id
      where t.id = ${grant.transferId}::int8 order by e.amount_nanos desc`;
    expect(entries.map((e) => [e.kind, e.funding, String(e.amount_nanos)])).toEqual([
      ['customer', 'granted', '10000000001'],
      ['promotion', 'granted', '-10000000001'],
    ]);
    expect(entries[0]?.memo).toMatchObject({ reason: 'welcome', actor: 'ops-anna', source: 'cli' });
  });

  test('grants paid credit as an adjustment from the tenant adjustment book', async () => {
    const grant = await runCliJson<Grant>(
      ['credits', 'grant', '--account', 'max@example.com', '--usd', '2.5', '--reason', 'wire', '--paid'],
      env,
    );
    expect(grant).toMatchObject({ applied: true, kind: 'adjustment', funding: 'paid' });
    const [row] = await db.sql<{ kind: string }[]>`
      select w.kind from entries e join wallets w on w.id = e.wallet_id where e.transfer_id = ${grant.transferId}::int8 and e.amount_nanos < 0`;
    expect(row?.kind).toBe('adjustment');
  });

  test('credits once when the same idempotency key is used twice, and says so', async () => {
    const args = [
      'credits',
      'grant',
      '--account',
      'max@example.com',
      '--usd',
      '1',
      '--reason',
      'invoice 7',
      '--paid',
      '--idempotency-key',
      'invoice-7',
    ];
    const first = await runCliJson<Grant>(args, env);
    const second = await runCli(args, env);
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toContain('already applied');
    const third = await runCliJson<Grant>(args, env);
    expect(third).toMatchObject({ applied: false, transferId: first.transferId, cause: 'cli:invoice-7' });
    const [row] = await db.sql<
      { count: bigint }[]
    >`select count(*)::int8 as count from transfers where cause = 'cli:invoice-7'`;
    expect(Number(row?.count)).toBe(1);
    expectOneLineFailure(
      await runCli([...args.slice(0, 5), '2', ...args.slice(6)], env),
      2,
      /already used for a different grant/,
    );
    expectOneLineFailure(
      await runCli(
        args.filter((arg) => arg !== '--paid'),
        env,
      ),
      2,
      /already used for a different grant/,
    );
  });

  test('shows paid, granted, held and available credit exact to the nano-dollar', async () => {
    const balance = await runCliJson<Balance>(['balance', '--account', 'max@example.com'], env);
    expect(balance).toMatchObject({
      paid: { nanos: '3500000000', usd: '3.50' },
      granted: { nanos: '10000000001', usd: '10.000000001' },
      held: { nanos: '0', usd: '0.00' },
      available: { nanos: '13500000001', usd: '13.500000001' },
    });
    const text = await runCli(['balance', '--account', 'max@example.com'], env);
    expect(text.stdout).toMatch(/available:\s+\$13\.500000001/);
  });
});

describe('tollgate holds sweep', () => {
  test('expires overdue holds and releases their credit', async () => {
    const [outcome] = await placeHolds(db.sql, [
      {
        requestId: 'req-overdue',
        legs: [{ walletId: BigInt(walletId), desiredNanos: 700n, minimumNanos: 700n }],
        apiKeyId: null,
        ttlSeconds: 1,
      },
    ]);
    expect(outcome?.ok).toBe(true);
    await Bun.sleep(1_100);
    const swept = await runCliJson<{ requests: number; holds: number; released: Money; settled: number }>(
      ['holds', 'sweep'],
      env,
    );
    expect(swept).toEqual({ requests: 1, holds: 1, released: { nanos: '700', usd: '0.0000007' }, settled: 0 });
    const [hold] = await db.sql<{ outcome: string }[]>`select outcome from holds where request_id = 'req-overdue'`;
    expect(hold?.outcome).toBe('expired');
    const balance = await runCliJson<Balance>(['balance', '--account', 'max@example.com'], env);
    expect(balance.held.nanos).toBe('0');
    const again = await runCliJson<{ holds: number }>(['holds', 'sweep'], env);
    expect(again.holds).toBe(0);
  });
});

describe('tollgate ledger verify', () => {
  test('exits 0 on a clean ledger and 1 once a cached balance is corrupted', async () => {
    const clean = await runCli(['ledger', 'verify'], env);
    expect(clean.exitCode).toBe(0);
    expect(clean.stdout).toMatch(/^ledger verify: \d+ checks, clean$/m);

    await db.sql`update wallets set paid_nanos = paid_nanos + 1 where id = ${walletId}::int8`;
    const broken = await runCli(['ledger', 'verify'], env);
    expect(broken.exitCode).toBe(1);
    expect(broken.stdout).toContain('cached paid and granted balances equal the sum of entries');
    const json = await runCli(['ledger', 'verify', '--json'], env);
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ clean: false });
    await db.sql`update wallets set paid_nanos = paid_nanos - 1 where id = ${walletId}::int8`;
  });
});

describe('tollgate pricing', () => {
  test('sets a rule, replaces it on the same pattern and lists the rules in the order they are tried', async () => {
    await runCliJson(
      ['pricing', 'set', '--pattern', 'openai/gpt-4*', '--markup-percent', '25', '--priority', '10'],
      env,
    );
    await runCliJson(
      ['pricing', 'set', '--pattern', 'openai/gpt-4*', '--markup-percent', '27.5', '--priority', '10'],
      env,
    );
    await runCliJson(['pricing', 'set', '--pattern', '*', '--markup-percent', '0'], env);
    const list = await runCliJson<{ rules: { pattern: string; markupBps: number; priority: number }[] }>(
      ['pricing', 'list'],
      env,
    );
    expect(list.rules.map((rule) => [rule.pattern, rule.markupBps, rule.priority])).toEqual([
      ['openai/gpt-4*', 2750, 10],
      ['*', 0, 0],
    ]);
    const [row] = await db.sql<{ count: bigint }[]>`select count(*)::int8 as count from pricing_rules`;
    expect(Number(row?.count)).toBe(2);
  });

  test('refuses a malformed markup or priority', async () => {
    expectOneLineFailure(
      await runCli(['pricing', 'set', '--pattern', 'x', '--markup-percent', 'lots'], env),
      2,
      /--markup-percent/,
    );
    expectOneLineFailure(
      await runCli(['pricing', 'set', '--pattern', 'x', '--markup-percent', '5', '--priority', '1.5'], env),
      2,
      /--priority/,
    );
  });
});
