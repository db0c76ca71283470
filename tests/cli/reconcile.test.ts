import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { parseDecimal } from '../../core/money.ts';
import { chainPricesNanos } from '../../core/pricing.ts';
import { walletBalance } from '../../db/queries/transfers.ts';
import { eventually, startHarness, UPSTREAM_KEY, type Harness } from '../gateway/harness.ts';
import { expectOneLineFailure, runCli } from './run-cli.ts';

/**
 * `tollgate reconcile` end to end: real requests through the gateway and the fake upstream, whose
 * generation records are then changed for some requests, as if the upstream had billed otherwise.
 */

type Money = { nanos: string; usd: string };
type Difference = {
  requestId: string;
  recordedCost: Money;
  upstreamCost: Money;
  difference: Money;
  recordedCharge: Money;
  correctedCharge: Money;
  status: string;
};
type Report = {
  checked: number;
  differences: Difference[];
  unfixed: number;
  implausible: number;
  missingCount: number;
  missing: string[];
};

const ROOT_MARKUP_BPS = 2000;
let h: Harness;
let env: Record<string, string>;
let walletId: bigint;
let requests: { id: string; generation_id: string; cost_nanos: bigint; charge_nanos: bigint }[] = [];

async function reconcileJson(args: string[], exitCode: number): Promise<Report> {
  const result = await runCli(['reconcile', ...args, '--json'], env);
  expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode, stderr: '' });
  return JSON.parse(result.stdout) as Report;
}

beforeAll(async () => {
  h = await startHarness();
  env = {
    DATABASE_URL: h.gateway.services.config.databaseUrl ?? '',
    UPSTREAM_BASE_URL: h.upstream.baseUrl,
    UPSTREAM_API_KEY: UPSTREAM_KEY,
  };
  const customer = await h.customer('1.00');
  walletId = customer.account.walletId;
  for (let i = 0; i < 4; i++)
    await h
      .client(customer.key)
      .chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: `question ${i}` }] });
  requests = await eventually(
    () =>
      h.sql<
        typeof requests
      >`select id, generation_id, cost_nanos, charge_nanos from requests where account_id = ${customer.account.id} order by created_at, id`,
    (rows) => rows.length === 4,
  );
  // The upstream now reports a higher cost for the first request, and nothing for the second.
  const higher = h.upstream.generations.get(requests[0]?.generation_id ?? '');
  const lower = h.upstream.generations.get(requests[1]?.generation_id ?? '');
  if (!higher || !lower) throw new Error('the fake upstream lost its generation records');
  higher.totalCostUsd = '0.001234567';
  lower.totalCostUsd = '0';
  h.upstream.generations.delete(requests[3]?.generation_id ?? '');
});
afterAll(async () => {
  await h.close();
});

describe('tollgate reconcile', () => {
  test('reports every difference with the recorded and upstream cost in exact USD, changes nothing, and exits 1', async () => {
    const before = await walletBalance(h.sql, walletId);
    const report = await reconcileJson(['--since', '1h'], 1);
    expect(report.checked).toBe(4);
    expect(report.missingCount).toBe(1);
    expect(report.missing).toEqual([requests[3]?.id ?? '']);
    expect(report.differences.map((d) => d.requestId)).toEqual([requests[0]?.id ?? '', requests[1]?.id ?? '']);
    const [higher, lower] = report.differences;
    expect(higher?.upstreamCost).toEqual({ nanos: '1234567', usd: '0.001234567' });
    expect(higher?.difference.nanos).toBe(String(1_234_567n - (requests[0]?.cost_nanos ?? 0n)));
    expect(higher?.correctedCharge.nanos).toBe(
      String(chainPricesNanos(parseDecimal('0.001234567', 15, true) ?? 0n, [ROOT_MARKUP_BPS])[0]),
    );
    expect(lower?.difference.nanos).toBe(String(-(requests[1]?.cost_nanos ?? 0n)));
    expect(report.differences.every((d) => d.status === 'unfixed')).toBe(true);
    expect(await walletBalance(h.sql, walletId)).toEqual(before);
  });

  test('--fix moves every leg by adjustments that net to zero, once: a re-run changes nothing and ledger verify stays clean', async () => {
    const before = await walletBalance(h.sql, walletId);
    const fixed = await reconcileJson(['--since', '1h', '--fix'], 0);
    expect(fixed.differences.map((d) => d.status)).toEqual(['fixed', 'fixed']);
    const owed = fixed.differences.reduce(
      (sum, d) => sum + BigInt(d.correctedCharge.nanos) - BigInt(d.recordedCharge.nanos),
      0n,
    );
    const after = await walletBalance(h.sql, walletId);
    expect((after?.paidNanos ?? 0n) + (after?.grantedNanos ?? 0n)).toBe(
      (before?.paidNanos ?? 0n) + (before?.grantedNanos ?? 0n) - owed,
    );
    const legs = await h.sql<{ kind: string; amount: bigint }[]>`
      select w.kind, sum(e.amount_nanos)::int8 as amount from entries e join transfers t on t.id = e.transfer_id join wallets w on w.id = e.wallet_id
      where t.kind = 'adjustment' and t.cause = ${`reconcile:${requests[0]?.id}`} group by w.kind order by w.kind`;
    const first = fixed.differences[0] as Difference;
    const priceDelta = BigInt(first.correctedCharge.nanos) - BigInt(first.recordedCharge.nanos);
    const costDelta = BigInt(first.difference.nanos);
    expect(legs.map((l) => [l.kind, l.amount])).toEqual([
      ['customer', -priceDelta],
      ['revenue', priceDelta - costDelta],
      ['upstream', costDelta],
    ]);

    const again = await reconcileJson(['--since', '1h', '--fix'], 0);
    expect(again.differences.map((d) => d.status)).toEqual(['fixed_earlier', 'fixed_earlier']);
    expect(await walletBalance(h.sql, walletId)).toEqual(after);
    const [count] = await h.sql<
      { n: number }[]
    >`select count(*)::int as n from transfers where cause like 'reconcile:%'`;
    expect(count?.n).toBe(2);
    const verify = await runCli(['ledger', 'verify'], env);
    expect(verify.stdout).toContain('clean');
    expect(verify.exitCode).toBe(0);
  });

  test('an absurd upstream record is reported as implausible and never charged, even with --fix', async () => {
    const customer = await h.customer('0.05');
    await h
      .client(customer.key)
      .chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'ten tokens' }] });
    const [request] = await eventually(
      () =>
        h.sql<
          { id: string; generation_id: string }[]
        >`select id, generation_id from requests where account_id = ${customer.account.id}`,
      (rows) => rows.length === 1,
    );
    const record = h.upstream.generations.get(request?.generation_id ?? '');
    if (!record) throw new Error('the fake upstream lost its generation record');
    record.totalCostUsd = '999999';
    const before = await walletBalance(h.sql, customer.account.walletId);
    const report = await reconcileJson(['--since', '1h', '--fix'], 1);
    const absurd = report.differences.find((d) => d.requestId === request?.id);
    expect(absurd?.status).toBe('implausible');
    expect(absurd?.upstreamCost.usd).toBe('999999.00');
    expect(report.implausible).toBe(1);
    expect(await walletBalance(h.sql, customer.account.walletId)).toEqual(before);
    const text = await runCli(['reconcile', '--since', '1h'], env);
    expect(text.stdout).toContain('implausible: not charged');
  });

  test('only requests inside the window are checked', async () => {
    const report = await reconcileJson(['--since', '2000-01-01', '--until', '2000-01-02'], 0);
    expect(report).toMatchObject({ checked: 0, differences: [], missingCount: 0 });
  });

  test('refuses a window it cannot read, in one line with exit code 2', async () => {
    expectOneLineFailure(
      await runCli(['reconcile', '--since', 'yesterday'], env),
      2,
      /--since must be an ISO date or time/,
    );
    expectOneLineFailure(
      await runCli(['reconcile', '--since', '1h', '--until', '2h'], env),
      2,
      /--until must be after --since/,
    );
    expectOneLineFailure(await runCli(['reconcile'], env), 2, /--since is required/);
    expectOneLineFailure(
      await runCli(['reconcile', '--since', '999999999d'], env),
      2,
      /--since must be an ISO date or time/,
    );
  });
});
