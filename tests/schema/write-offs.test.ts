import { afterAll, beforeAll, expect, test } from 'bun:test';
import { placeHolds } from '../../db/queries/holds.ts';
import { insertRequestCharges, insertRequests, type RequestRecord } from '../../db/queries/requests.ts';
import { postSettlements } from '../../db/queries/settlements.ts';
import { tenantWalletId } from '../../db/queries/tenants.ts';
import { startApi, type ApiHarness, type Person } from './harness.ts';

/** What settlements wrote off, in the tenant's report and on each usage record (issue 17). */

let api: ApiHarness;
let admin: Person;
let customer: Person;

const record = (id: string, accountId: string, model: string, chargeNanos: bigint): RequestRecord => ({
  id,
  tenantId: api.root.id,
  accountId,
  apiKeyId: null,
  route: 'chat',
  model,
  stream: false,
  statusCode: 200,
  outcome: 'completed',
  errorCode: null,
  promptTokens: 10,
  completionTokens: 5,
  promptTokensBound: null,
  costNanos: chargeNanos / 2n,
  chargeNanos,
  holdNanos: 100n,
  estimated: false,
  usageDistrusted: false,
  generationId: null,
  latencyMs: 5,
  firstByteMs: null,
});

/** A request held for 100 and priced at `price`, settled the way the gateway settles it. */
async function settle(id: string, model: string, price: bigint): Promise<void> {
  const walletId = customer.account.walletId;
  await placeHolds(api.sql, [
    { requestId: id, legs: [{ walletId, desiredNanos: 100n, minimumNanos: 100n }], apiKeyId: null, ttlSeconds: 60 },
  ]);
  await insertRequests(api.sql, [record(id, customer.account.id, model, price)]);
  await insertRequestCharges(api.sql, [
    { requestId: id, tenantId: api.root.id, revenueNanos: price, costNanos: price / 2n },
  ]);
  const revenue = await tenantWalletId(api.sql, api.root.id, 'revenue');
  const upstream = await tenantWalletId(api.sql, api.root.id, 'upstream');
  await postSettlements(api.sql, [
    {
      requestId: id,
      debits: [{ walletId, chargeNanos: price }],
      credits: [
        { walletId: revenue, amountNanos: price - price / 2n },
        { walletId: upstream, amountNanos: price / 2n },
      ],
    },
  ]);
}

beforeAll(async () => {
  api = await startApi();
  admin = await api.person(api.root, 'admin');
  customer = await api.person(api.root);
  await api.credit(customer.account, 1_000n);
  // 1,000 of credit: wo-2 costs 50 of its hold; wo-1 then pays 950 of its 3,000 (100 held + 850 available).
  await settle('wo-2', 'fake/b', 50n);
  await settle('wo-1', 'fake/a', 3_000n);
});
afterAll(() => api.close());

test('the report shows what was written off per model and day, and takes it out of the profit', async () => {
  const data = await api.ok<{
    report: {
      totals: { revenue: { nanos: string }; writtenOff: { nanos: string }; profit: { nanos: string } };
      writeOffs: { model: string; requests: number; amount: { nanos: string } }[];
      series: { writtenOff: { nanos: string } }[];
    };
  }>(
    '{ report { totals { revenue { nanos } writtenOff { nanos } profit { nanos } } writeOffs { model requests amount { nanos } } series { writtenOff { nanos } } } }',
    {},
    { token: admin.token },
  );
  expect(data.report.writeOffs).toEqual([{ model: 'fake/a', requests: 1, amount: { nanos: '2050' } }]);
  expect(data.report.totals.writtenOff.nanos).toBe('2050');
  expect(data.report.totals.revenue.nanos).toBe('3050');
  expect(data.report.totals.profit.nanos).toBe(String(3050 - 1525 - 2050));
  expect(data.report.series.map((p) => p.writtenOff.nanos)).toEqual(['2050']);
});

test('each usage record shows its price and what of it was written off', async () => {
  const data = await api.ok<{
    usage: { edges: { node: { id: string; charge: { nanos: string }; writtenOff: { nanos: string } } }[] };
  }>('{ usage { edges { node { id charge { nanos } writtenOff { nanos } } } } }', {}, { token: customer.token });
  const byId = Object.fromEntries(data.usage.edges.map((e) => [e.node.id, e.node]));
  expect(byId['wo-1']).toMatchObject({ charge: { nanos: '3000' }, writtenOff: { nanos: '2050' } });
  expect(byId['wo-2']).toMatchObject({ charge: { nanos: '50' }, writtenOff: { nanos: '0' } });
});
