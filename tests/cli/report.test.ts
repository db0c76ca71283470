import { beforeAll, describe, expect, test } from 'bun:test';
import { createAccount } from '../../db/queries/accounts.ts';
import { placeHolds } from '../../db/queries/holds.ts';
import { insertRequestCharges, insertRequests } from '../../db/queries/requests.ts';
import { postSettlements } from '../../db/queries/settlements.ts';
import { ensureRootTenant, tenantWalletId } from '../../db/queries/tenants.ts';
import { recordTransfer } from '../../db/queries/transfers.ts';
import { testDatabase } from '../helpers.ts';
import { runCli, runCliJson } from './run-cli.ts';

/** `tollgate report` (the margin report) and `tollgate usage` show what settlements wrote off. */

type Money = { nanos: string; usd: string };
let env: Record<string, string>;
const EMAIL = 'lost@example.com';
const today = new Date().toISOString().slice(0, 10);

beforeAll(async () => {
  const { sql, url } = await testDatabase();
  env = { DATABASE_URL: url };
  const root = await ensureRootTenant(sql, 2000);
  const account = await createAccount(sql, { tenantId: root.id, email: EMAIL });
  const book = (kind: 'clearing' | 'revenue' | 'upstream') => tenantWalletId(sql, root.id, kind);
  await recordTransfer(sql, {
    kind: 'purchase',
    cause: 'cs_report_test',
    entries: [
      { walletId: account.walletId, funding: 'paid', amountNanos: 500n },
      { walletId: await book('clearing'), funding: 'paid', amountNanos: -500n },
    ],
  });
  // Held 100, priced 2,000 (1,200 of it cost): the wallet pays 500, 1,500 is written off.
  await placeHolds(sql, [
    {
      requestId: 'rep-1',
      legs: [{ walletId: account.walletId, desiredNanos: 100n, minimumNanos: 100n }],
      apiKeyId: null,
      ttlSeconds: 60,
    },
  ]);
  await insertRequests(sql, [
    {
      id: 'rep-1',
      tenantId: root.id,
      accountId: account.id,
      apiKeyId: null,
      route: 'chat',
      model: 'fake/dear',
      stream: false,
      statusCode: 200,
      outcome: 'completed',
      errorCode: null,
      promptTokens: 1,
      completionTokens: 1,
      promptTokensBound: null,
      costNanos: 1_200n,
      chargeNanos: 2_000n,
      holdNanos: 100n,
      estimated: false,
      usageDistrusted: false,
      generationId: null,
      latencyMs: 1,
      firstByteMs: null,
    },
  ]);
  await insertRequestCharges(sql, [{ requestId: 'rep-1', tenantId: root.id, revenueNanos: 2_000n, costNanos: 1_200n }]);
  await postSettlements(sql, [
    {
      requestId: 'rep-1',
      debits: [{ walletId: account.walletId, chargeNanos: 2_000n }],
      credits: [
        { walletId: await book('revenue'), amountNanos: 800n },
        { walletId: await book('upstream'), amountNanos: 1_200n },
      ],
    },
  ]);
});

describe('tollgate report', () => {
  test('shows revenue, cost, written off and the profit left per day, and write-offs per model', async () => {
    const report = await runCliJson<{
      periods: { revenue: Money; cost: Money; writtenOff: Money; profit: Money }[];
      writeOffs: { model: string; requests: number; writtenOff: Money }[];
    }>(['report', '--since', today], env);
    expect(report.periods.map((p) => [p.revenue.nanos, p.cost.nanos, p.writtenOff.nanos, p.profit.nanos])).toEqual([
      ['2000', '1200', '1500', '-700'],
    ]);
    expect(report.writeOffs).toMatchObject([
      { model: 'fake/dear', requests: 1, writtenOff: { nanos: '1500', usd: '0.0000015' } },
    ]);
    const text = await runCli(['report', '--since', today], env);
    expect(text.stdout).toContain('WRITTEN OFF USD');
    expect(text.stdout).toContain('fake/dear');
  });
});

describe('tollgate usage', () => {
  test('shows each request its price and what of it was written off', async () => {
    const usage = await runCliJson<{ requests: { requestId: string; charge: Money; writtenOff: Money }[] }>(
      ['usage', '--account', EMAIL, '--since', today],
      env,
    );
    expect(usage.requests).toMatchObject([
      { requestId: 'rep-1', charge: { nanos: '2000' }, writtenOff: { nanos: '1500' } },
    ]);
  });
});
