import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { insertRequestCharges, insertRequests } from '../../db/queries/requests.ts';
import { findTenant } from '../../db/queries/tenants.ts';
import { codes, PASSWORD, startApi, type ApiHarness, type Person } from './harness.ts';

/** White-label: child tenants with their own admin, wholesale credit and spend, and each level's margin. */

let api: ApiHarness;
let operator: Person;

beforeAll(async () => {
  api = await startApi();
  operator = await api.person(api.root, 'operator');
});
afterAll(() => api.close());

const CREATE = `mutation($input: NewChildTenantInput!) {
  createChildTenant(input: $input) { tenant { id slug markupBps status wholesaleBalance { available { usd } } } adminId adminEmail }
}`;
type Created = { createChildTenant: { tenant: { id: string; slug: string }; adminId: string; adminEmail: string } };

async function signIn(email: string, tenantSlug: string): Promise<string> {
  const result = await api.ok<{ signIn: { token: string } }>(
    'mutation($e: String!, $p: String!, $t: String) { signIn(email: $e, password: $p, tenantSlug: $t) { token } }',
    {
      e: email,
      p: PASSWORD,
      t: tenantSlug,
    },
  );
  return result.signIn.token;
}

async function child(
  slug: string,
  parentToken: string,
  markupBps = 2000,
): Promise<{ id: string; adminToken: string; adminId: string }> {
  const input = { slug, name: `${slug} AI`, markupBps, adminEmail: `admin@${slug}.example`, adminPassword: PASSWORD };
  const created = await api.ok<Created>(CREATE, { input }, { token: parentToken });
  return {
    id: created.createChildTenant.tenant.id,
    adminId: created.createChildTenant.adminId,
    adminToken: await signIn(input.adminEmail, slug),
  };
}

describe('child tenants', () => {
  test('the operator creates a reseller with its own admin, who signs in to it', async () => {
    const input = {
      slug: 'resell-one',
      name: 'Resell One',
      markupBps: 2000,
      adminEmail: 'owner@resell.example',
      adminPassword: PASSWORD,
    };
    const created = await api.ok<Created>(CREATE, { input }, { token: operator.token });
    expect(created.createChildTenant).toMatchObject({
      tenant: {
        slug: 'resell-one',
        markupBps: 2000,
        status: 'ACTIVE',
        wholesaleBalance: { available: { usd: '0.00' } },
      },
      adminEmail: 'owner@resell.example',
    });
    const [row] = await api.sql<
      { role: string }[]
    >`select role from accounts where id = ${created.createChildTenant.adminId}::uuid`;
    expect(row?.role).toBe('admin');
    const token = await signIn('owner@resell.example', 'resell-one');
    const viewer = await api.ok<{ viewer: { isAdmin: boolean; tenant: { slug: string; isRoot: boolean } } }>(
      '{ viewer { isAdmin tenant { slug isRoot } } }',
      {},
      { token },
    );
    expect(viewer.viewer).toEqual({ isAdmin: true, tenant: { slug: 'resell-one', isRoot: false } });
    expect(codes(await api.gql(CREATE, { input }, { token: operator.token }))).toEqual(['INVALID_INPUT']);
  });

  test('a reseller creates its own child; customers cannot create tenants', async () => {
    const reseller = await child('resell-two', operator.token);
    const grandchild = await api.ok<Created>(
      CREATE,
      {
        input: {
          slug: 'resell-two-sub',
          name: 'Sub',
          markupBps: 500,
          adminEmail: 'a@sub.example',
          adminPassword: PASSWORD,
        },
      },
      { token: reseller.adminToken },
    );
    const [row] = await api.sql<
      { parent_id: string }[]
    >`select parent_id from tenants where id = ${grandchild.createChildTenant.tenant.id}::uuid`;
    expect(row?.parent_id).toBe(reseller.id);
    const customer = await api.person(api.root);
    const refused = await api.gql(
      CREATE,
      { input: { slug: 'nope', name: 'Nope', markupBps: 0, adminEmail: 'n@n.example', adminPassword: PASSWORD } },
      { token: customer.token },
    );
    expect(codes(refused)).toEqual(['FORBIDDEN']);
  });

  test('a parent lists its direct children only; a child cannot reach its parent or siblings', async () => {
    const a = await child('family-a', operator.token);
    const b = await child('family-b', operator.token);
    const sub = await child('family-a-sub', a.adminToken);
    const LIST = '{ childTenants(first: 50) { edges { node { slug } } } }';
    const mine = await api.ok<{ childTenants: { edges: { node: { slug: string } }[] } }>(
      LIST,
      {},
      { token: a.adminToken },
    );
    expect(mine.childTenants.edges.map((e) => e.node.slug)).toEqual(['family-a-sub']);
    const ONE = 'query($id: ID!) { childTenant(id: $id) { slug } }';
    expect(codes(await api.gql(ONE, { id: b.id }, { token: a.adminToken }))).toEqual(['NOT_FOUND']);
    expect(codes(await api.gql(ONE, { id: api.root.id }, { token: a.adminToken }))).toEqual(['NOT_FOUND']);
    expect(codes(await api.gql(ONE, { id: sub.id }, { token: operator.token }))).toEqual(['NOT_FOUND']);
  });

  test('suspending a child stops its admin; reactivating restores it', async () => {
    const c = await child('suspend-me', operator.token);
    const SET = 'mutation($id: ID!, $s: Status!) { setChildTenantStatus(id: $id, status: $s) { status } }';
    await api.ok(SET, { id: c.id, s: 'SUSPENDED' }, { token: operator.token });
    expect(codes(await api.gql('{ viewer { kind } }', {}, { token: c.adminToken }))).toEqual(['FORBIDDEN']);
    await api.ok(SET, { id: c.id, s: 'ACTIVE' }, { token: operator.token });
    expect((await api.gql('{ viewer { kind } }', {}, { token: c.adminToken })).errors).toBeUndefined();
    expect(codes(await api.gql(SET, { id: api.root.id, s: 'SUSPENDED' }, { token: c.adminToken }))).toEqual([
      'NOT_FOUND',
    ]);
  });
});

describe('wholesale credit, spend and margins', () => {
  test('the parent tops up the wholesale wallet; the child sees it and its book', async () => {
    const c = await child('wholesale-co', operator.token);
    const ADJUST =
      'mutation($id: ID!, $i: AdjustmentInput!) { adjustWholesaleCredit(childTenantId: $id, input: $i) { applied balance { available { usd } } } }';
    const topUp = await api.ok<{ adjustWholesaleCredit: unknown }>(
      ADJUST,
      {
        id: c.id,
        i: { amount: { usd: '5' }, reason: 'prepaid invoice 17', idempotencyKey: 'inv-17', funding: 'PAID' },
      },
      { token: operator.token },
    );
    expect(topUp.adjustWholesaleCredit).toEqual({ applied: true, balance: { available: { usd: '5.00' } } });
    const seen = await api.ok<{ tenant: { wholesaleBalance: { paid: { usd: string } } } }>(
      '{ tenant { wholesaleBalance { paid { usd } } } }',
      {},
      { token: c.adminToken },
    );
    expect(seen.tenant.wholesaleBalance.paid.usd).toBe('5.00');
    const book = await api.ok<{ ledgerEntries: { edges: { node: { reason: string; amount: { usd: string } } }[] } }>(
      '{ ledgerEntries(book: WHOLESALE) { edges { node { reason amount { usd } } } } }',
      {},
      { token: c.adminToken },
    );
    expect(book.ledgerEntries.edges.map((e) => e.node)).toEqual([
      { reason: 'prepaid invoice 17', amount: { usd: '5.00' } },
    ]);
    expect(
      codes(
        await api.gql(
          ADJUST,
          { id: c.id, i: { amount: { usd: '1' }, reason: 'self', idempotencyKey: 's' } },
          { token: c.adminToken },
        ),
      ),
    ).toEqual(['NOT_FOUND']);
    expect(
      codes(await api.gql('{ ledgerEntries(book: WHOLESALE) { edges { cursor } } }', {}, { token: operator.token })),
    ).toEqual(['INVALID_INPUT']);
  });

  test('each level reports its own margin; the parent sees the child’s wholesale spend, not its customers', async () => {
    const c = await child('margin-co', operator.token);
    const childTenant = await findTenant(api.sql, c.id);
    if (!childTenant) throw new Error('the child tenant is missing');
    const childCustomer = await api.person(childTenant);
    await insertRequests(api.sql, [
      {
        id: 'wl-1',
        tenantId: c.id,
        accountId: childCustomer.account.id,
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
        costNanos: 800n,
        chargeNanos: 1200n,
        holdNanos: 0n,
        estimated: false,
        usageDistrusted: false,
        generationId: null,
        latencyMs: 50,
        firstByteMs: null,
      },
    ]);
    await insertRequestCharges(api.sql, [
      { requestId: 'wl-1', tenantId: api.root.id, revenueNanos: 1000n, costNanos: 800n },
      { requestId: 'wl-1', tenantId: c.id, revenueNanos: 1200n, costNanos: 1000n },
    ]);
    const REPORT =
      '{ report { totals { revenue { nanos } cost { nanos } profit { nanos } marginBps requests activeCustomers } popularModels { model requests revenue { nanos } } } }';
    type Report = { report: { totals: Record<string, unknown>; popularModels: unknown[] } };
    const childReport = await api.ok<Report>(REPORT, {}, { token: c.adminToken });
    expect(childReport.report.totals).toEqual({
      revenue: { nanos: '1200' },
      cost: { nanos: '1000' },
      profit: { nanos: '200' },
      marginBps: 1666,
      requests: 1,
      activeCustomers: 1,
    });
    expect(childReport.report.popularModels).toEqual([
      { model: 'fake/small', requests: 1, revenue: { nanos: '1200' } },
    ]);
    const rootReport = await api.ok<Report>(REPORT, {}, { token: operator.token });
    expect(rootReport.report.totals).toMatchObject({
      revenue: { nanos: '1000' },
      cost: { nanos: '800' },
      profit: { nanos: '200' },
      requests: 0,
      activeCustomers: 0,
    });
    const spend = await api.ok<{ childTenant: { wholesaleSpend: { nanos: string } } }>(
      'query($id: ID!) { childTenant(id: $id) { wholesaleSpend { nanos } } }',
      { id: c.id },
      { token: operator.token },
    );
    expect(spend.childTenant.wholesaleSpend.nanos).toBe('1000');
    expect(
      codes(
        await api.gql(
          'query($id: ID!) { customer(id: $id) { email } }',
          { id: childCustomer.account.id },
          { token: operator.token },
        ),
      ),
    ).toEqual(['NOT_FOUND']);
    expect(
      codes(
        await api.gql('{ usage(filter: { model: "fake/small" }) { edges { cursor } } }', {}, { token: operator.token }),
      ),
    ).toEqual([]);
    const rootUsage = await api.ok<{ usage: { edges: unknown[] } }>(
      '{ usage(filter: { model: "fake/small" }) { edges { cursor } } }',
      {},
      { token: operator.token },
    );
    expect(rootUsage.usage.edges).toHaveLength(0);
  });
});
