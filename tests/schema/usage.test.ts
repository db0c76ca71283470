import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createApiKey } from '../../db/queries/api-keys.ts';
import { insertRequestCharges, insertRequests, type RequestRecord } from '../../db/queries/requests.ts';
import { codes, PEPPER, startApi, type ApiHarness, type Person } from './harness.ts';

/** The usage log, its aggregates and CSV export over a seeded request log with known numbers. */

let api: ApiHarness;
let alice: Person;
let bob: Person;
let admin: Person;
let aliceKeyId: string;

const DAY1 = '2025-03-01';
const DAY2 = '2025-03-02';

function request(
  id: string,
  person: Person,
  at: string,
  fields: Partial<RequestRecord>,
): RequestRecord & { at: string } {
  return {
    id,
    tenantId: person.account.tenantId,
    accountId: person.account.id,
    apiKeyId: null,
    route: 'chat',
    model: 'fake/small',
    stream: false,
    statusCode: 200,
    outcome: 'completed',
    errorCode: null,
    promptTokens: 10,
    completionTokens: 5,
    promptTokensBound: null,
    costNanos: 0n,
    chargeNanos: 0n,
    holdNanos: 0n,
    estimated: false,
    usageDistrusted: false,
    generationId: null,
    latencyMs: 100,
    firstByteMs: null,
    ...fields,
    at,
  };
}

beforeAll(async () => {
  api = await startApi();
  [alice, bob, admin] = [await api.person(api.root), await api.person(api.root), await api.person(api.root, 'admin')];
  aliceKeyId = (await createApiKey(api.sql, PEPPER, { accountId: alice.account.id, name: 'a' })).apiKey.id;
  const rows = [
    request('r1', alice, `${DAY1}T10:00:00Z`, { apiKeyId: aliceKeyId, chargeNanos: 100n, promptTokens: 1_000 }),
    request('r2', alice, `${DAY1}T11:30:00Z`, {
      statusCode: 502,
      outcome: 'failed',
      errorCode: 'upstream_error',
      promptTokens: 0,
      completionTokens: 0,
    }),
    request('r3', alice, `${DAY2}T09:15:00Z`, { model: 'fake/large', chargeNanos: 250n }),
    request('r4', bob, `${DAY1}T10:10:00Z`, { chargeNanos: 40n }),
    request('r5', alice, `${DAY2}T12:00:00Z`, { model: '=HYPERLINK("http://x")', chargeNanos: 1n }),
  ];
  await insertRequests(api.sql, rows);
  await insertRequestCharges(
    api.sql,
    rows.map((r) => ({
      requestId: r.id,
      tenantId: r.tenantId,
      revenueNanos: r.chargeNanos,
      costNanos: r.chargeNanos / 2n,
    })),
  );
  for (const row of rows) {
    await api.sql`update requests set created_at = ${row.at}::timestamptz where id = ${row.id}`;
    await api.sql`update request_charges set created_at = ${row.at}::timestamptz where request_id = ${row.id}`;
  }
});
afterAll(() => api.close());

const USAGE = `query($filter: UsageFilter) { usage(filter: $filter, first: 50) { edges { node { id model outcome statusCode charge { nanos usd } } } } }`;
type Usage = {
  usage: { edges: { node: { id: string; model: string; outcome: string; charge: { nanos: string } } }[] };
};
const ids = (data: Usage) => data.usage.edges.map((e) => e.node.id);

describe('the usage log', () => {
  test('a customer sees only their own requests, newest first', async () => {
    expect(ids(await api.ok<Usage>(USAGE, {}, { token: alice.token }))).toEqual(['r5', 'r3', 'r2', 'r1']);
    expect(ids(await api.ok<Usage>(USAGE, {}, { token: bob.token }))).toEqual(['r4']);
  });

  test('filters by model, outcome, status, key and time narrow the log', async () => {
    const run = (filter: Record<string, unknown>) => api.ok<Usage>(USAGE, { filter }, { token: alice.token }).then(ids);
    expect(await run({ model: 'fake/small' })).toEqual(['r2', 'r1']);
    expect(await run({ outcome: 'FAILED' })).toEqual(['r2']);
    expect(await run({ statusCode: 502 })).toEqual(['r2']);
    expect(await run({ apiKeyId: aliceKeyId })).toEqual(['r1']);
    expect(await run({ from: `${DAY2}T00:00:00Z` })).toEqual(['r5', 'r3']);
    expect(await run({ from: `${DAY1}T00:00:00Z`, to: `${DAY1}T11:00:00Z` })).toEqual(['r1']);
  });

  test('a customer naming another account is told it does not exist', async () => {
    expect(codes(await api.gql(USAGE, { filter: { accountId: bob.account.id } }, { token: alice.token }))).toEqual([
      'NOT_FOUND',
    ]);
  });

  test("a customer cannot read the tenant's margin fields", async () => {
    const result = await api.gql<{ usage: { edges: { node: { tenantRevenue: null } }[] } }>(
      '{ usage(first: 1) { edges { node { id tenantRevenue { nanos } } } } }',
      {},
      { token: alice.token },
    );
    expect(codes(result)).toEqual(['FORBIDDEN']);
    expect(result.data?.usage.edges[0]?.node.tenantRevenue).toBeNull();
  });

  test('an admin sees the whole tenant, or one account, with what the tenant earned and paid', async () => {
    expect(ids(await api.ok<Usage>(USAGE, {}, { token: admin.token }))).toEqual(['r5', 'r3', 'r2', 'r4', 'r1']);
    expect(ids(await api.ok<Usage>(USAGE, { filter: { accountId: bob.account.id } }, { token: admin.token }))).toEqual([
      'r4',
    ]);
    const margin = await api.ok<{
      usage: { edges: { node: { tenantRevenue: { nanos: string }; tenantCost: { nanos: string } } }[] };
    }>(
      `{ usage(first: 1, filter: { model: "fake/large" }) { edges { node { tenantRevenue { nanos } tenantCost { nanos } } } } }`,
      {},
      { token: admin.token },
    );
    expect(margin.usage.edges[0]?.node).toEqual({ tenantRevenue: { nanos: '250' }, tenantCost: { nanos: '125' } });
  });
});

describe('aggregates', () => {
  const SUMMARY = `query($g: UsageGrouping!, $filter: UsageFilter) { usageSummary(groupBy: $g, filter: $filter) { key requests errors promptTokens completionTokens charge { nanos } } }`;
  const range = { from: `${DAY1}T00:00:00Z`, to: `${DAY2}T23:59:59Z` };

  test('by day', async () => {
    const { usageSummary } = await api.ok<{ usageSummary: unknown[] }>(
      SUMMARY,
      { g: 'DAY', filter: range },
      { token: alice.token },
    );
    expect(usageSummary).toEqual([
      {
        key: `${DAY1}T00:00:00Z`,
        requests: 2,
        errors: 1,
        promptTokens: '1000',
        completionTokens: '5',
        charge: { nanos: '100' },
      },
      {
        key: `${DAY2}T00:00:00Z`,
        requests: 2,
        errors: 0,
        promptTokens: '20',
        completionTokens: '10',
        charge: { nanos: '251' },
      },
    ]);
  });

  test('by hour', async () => {
    const { usageSummary } = await api.ok<{ usageSummary: { key: string; requests: number }[] }>(
      SUMMARY,
      { g: 'HOUR', filter: range },
      { token: alice.token },
    );
    expect(usageSummary.map((b) => [b.key, b.requests])).toEqual([
      [`${DAY1}T10:00:00Z`, 1],
      [`${DAY1}T11:00:00Z`, 1],
      [`${DAY2}T09:00:00Z`, 1],
      [`${DAY2}T12:00:00Z`, 1],
    ]);
  });

  test('by model, most used first, and tenant-wide for an admin', async () => {
    const mine = await api.ok<{ usageSummary: { key: string; requests: number; charge: { nanos: string } }[] }>(
      SUMMARY,
      { g: 'MODEL', filter: range },
      { token: alice.token },
    );
    expect(mine.usageSummary[0]).toMatchObject({ key: 'fake/small', requests: 2, charge: { nanos: '100' } });
    const tenant = await api.ok<{ usageSummary: { key: string; requests: number; charge: { nanos: string } }[] }>(
      SUMMARY,
      { g: 'MODEL', filter: range },
      { token: admin.token },
    );
    expect(tenant.usageSummary[0]).toMatchObject({ key: 'fake/small', requests: 3, charge: { nanos: '140' } });
  });

  test('hourly buckets are refused over more than a month', async () => {
    const result = await api.gql(
      SUMMARY,
      { g: 'HOUR', filter: { from: '2025-01-01T00:00:00Z', to: '2025-03-01T00:00:00Z' } },
      { token: alice.token },
    );
    expect(codes(result)).toEqual(['INVALID_INPUT']);
  });
});

describe('CSV export', () => {
  test('exports the filtered log with exact money and defused formulas', async () => {
    const { usageCsv } = await api.ok<{ usageCsv: string }>('{ usageCsv }', {}, { token: alice.token });
    const lines = usageCsv.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'request_id,created_at,account_id,api_key_id,route,model,status_code,outcome,error_code,prompt_tokens,completion_tokens,charge_usd,charge_nanos,estimated,latency_ms',
    );
    expect(lines).toHaveLength(5);
    expect(lines[1]).toStartWith(
      `r5,${DAY2}T12:00:00.000Z,${alice.account.id},,chat,"'=HYPERLINK(""http://x"")",200,completed,`,
    );
    expect(lines[4]).toBe(
      `r1,${DAY1}T10:00:00.000Z,${alice.account.id},${aliceKeyId},chat,fake/small,200,completed,,1000,5,0.0000001,100,false,100`,
    );
  });
});
