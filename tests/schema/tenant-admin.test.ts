import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { codes, startApi, type ApiHarness, type Person } from './harness.ts';

/** Tenant admin: customers, credit adjustments, pricing rules, rate-limit policies, branding and domain. */

let api: ApiHarness;
let admin: Person;
let customer: Person;

beforeAll(async () => {
  api = await startApi();
  admin = await api.person(api.root, 'admin', 'boss@root.example');
  customer = await api.person(api.root, 'customer', 'zed@root.example');
});
afterAll(() => api.close());

describe('customers', () => {
  const LIST =
    'query($s: String, $status: Status) { customers(search: $s, status: $status, first: 50) { edges { node { email status role } } } }';
  type List = { customers: { edges: { node: { email: string; status: string } }[] } };

  test('an admin lists and searches the accounts of the tenant', async () => {
    const all = await api.ok<List>(LIST, {}, { token: admin.token });
    expect(all.customers.edges.map((e) => e.node.email)).toEqual(['zed@root.example', 'boss@root.example']);
    const found = await api.ok<List>(LIST, { s: 'ZED' }, { token: admin.token });
    expect(found.customers.edges.map((e) => e.node.email)).toEqual(['zed@root.example']);
    const wildcard = await api.ok<List>(LIST, { s: '%' }, { token: admin.token });
    expect(wildcard.customers.edges).toHaveLength(0);
  });

  test('a customer is not allowed to list customers', async () => {
    expect(codes(await api.gql(LIST, {}, { token: customer.token }))).toEqual(['FORBIDDEN']);
  });

  test('an admin creates a customer, and a duplicate e-mail is refused', async () => {
    const CREATE =
      'mutation($e: String!) { createCustomer(email: $e, displayName: "New") { email role displayName balance { available { usd } } } }';
    const created = await api.ok<{ createCustomer: unknown }>(
      CREATE,
      { e: 'new@root.example' },
      { token: admin.token },
    );
    expect(created.createCustomer).toEqual({
      email: 'new@root.example',
      role: 'CUSTOMER',
      displayName: 'New',
      balance: { available: { usd: '0.00' } },
    });
    expect(codes(await api.gql(CREATE, { e: 'NEW@root.example' }, { token: admin.token }))).toEqual(['INVALID_INPUT']);
    expect(
      codes(
        await api.gql(
          'mutation { createCustomer(email: "op@root.example", role: OPERATOR) { id } }',
          {},
          { token: admin.token },
        ),
      ),
    ).toEqual(['FORBIDDEN']);
  });

  test('suspending a customer stops their session; reactivating restores it', async () => {
    const victim = await api.person(api.root);
    const SET = 'mutation($id: ID!, $s: Status!) { setCustomerStatus(id: $id, status: $s) { status } }';
    expect(
      (
        await api.ok<{ setCustomerStatus: { status: string } }>(
          SET,
          { id: victim.account.id, s: 'SUSPENDED' },
          { token: admin.token },
        )
      ).setCustomerStatus.status,
    ).toBe('SUSPENDED');
    expect(codes(await api.gql('{ viewer { kind } }', {}, { token: victim.token }))).toEqual(['FORBIDDEN']);
    await api.ok(SET, { id: victim.account.id, s: 'ACTIVE' }, { token: admin.token });
    expect((await api.gql('{ viewer { kind } }', {}, { token: victim.token })).errors).toBeUndefined();
    expect(codes(await api.gql(SET, { id: admin.account.id, s: 'SUSPENDED' }, { token: admin.token }))).toEqual([
      'FORBIDDEN',
    ]);
  });
});

describe('credit adjustments', () => {
  const ADJUST = `mutation($id: ID!, $input: AdjustmentInput!) {
    adjustCredit(accountId: $id, input: $input) { applied transferId balance { available { nanos usd } granted { nanos } paid { nanos } } }
  }`;
  type Adjusted = {
    adjustCredit: {
      applied: boolean;
      transferId: string;
      balance: { available: { nanos: string; usd: string }; granted: { nanos: string }; paid: { nanos: string } };
    };
  };

  test('an adjustment credits the account once per idempotency key, with its reason in the ledger', async () => {
    const target = await api.person(api.root);
    const input = { amount: { usd: '2.50' }, reason: 'goodwill for the outage', idempotencyKey: 'adj-1' };
    const first = await api.ok<Adjusted>(ADJUST, { id: target.account.id, input }, { token: admin.token });
    expect(first.adjustCredit).toMatchObject({
      applied: true,
      balance: { available: { nanos: '2500000000', usd: '2.50' }, granted: { nanos: '2500000000' } },
    });
    const replay = await api.ok<Adjusted>(ADJUST, { id: target.account.id, input }, { token: admin.token });
    expect(replay.adjustCredit).toMatchObject({
      applied: false,
      transferId: first.adjustCredit.transferId,
      balance: { available: { nanos: '2500000000' } },
    });
    const clash = await api.gql(
      ADJUST,
      { id: target.account.id, input: { ...input, amount: { usd: '3' } } },
      { token: admin.token },
    );
    expect(clash.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT', field: 'idempotencyKey' });
    const ledger = await api.ok<{
      ledgerEntries: { edges: { node: { kind: string; reason: string; amount: { usd: string }; funding: string } }[] };
    }>('{ ledgerEntries { edges { node { kind reason funding amount { usd } } } } }', {}, { token: target.token });
    expect(ledger.ledgerEntries.edges.map((e) => e.node)).toEqual([
      { kind: 'ADJUSTMENT', reason: 'goodwill for the outage', funding: 'GRANTED', amount: { usd: '2.50' } },
    ]);
    const [sum] = await api.sql<
      { total: bigint }[]
    >`select sum(amount_nanos)::int8 as total from entries where transfer_id = ${first.adjustCredit.transferId}::int8`;
    expect(sum?.total).toBe(0n);
  });

  test('taking credit back cannot go below what is available', async () => {
    const target = await api.person(api.root);
    await api.credit(target.account, 1_000_000_000n);
    const tooMuch = await api.gql(
      ADJUST,
      {
        id: target.account.id,
        input: { amount: { usd: '-1.5' }, reason: 'refund', idempotencyKey: 'take-1', funding: 'PAID' },
      },
      { token: admin.token },
    );
    expect(tooMuch.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT', field: 'amount' });
    const fine = await api.ok<Adjusted>(
      ADJUST,
      {
        id: target.account.id,
        input: { amount: { usd: '-0.4' }, reason: 'refund', idempotencyKey: 'take-2', funding: 'PAID' },
      },
      { token: admin.token },
    );
    expect(fine.adjustCredit.balance.paid.nanos).toBe('600000000');
  });

  test('customers cannot adjust credit, not even their own', async () => {
    const result = await api.gql(
      ADJUST,
      { id: customer.account.id, input: { amount: { usd: '100' }, reason: 'me', idempotencyKey: 'x' } },
      { token: customer.token },
    );
    expect(codes(result)).toEqual(['FORBIDDEN']);
    expect(await api.sql`select 1 from transfers where cause like '%:x'`).toHaveLength(0);
  });
});

describe('pricing rules', () => {
  test('an admin sets, lists, replaces and deletes rules', async () => {
    const SET =
      'mutation($p: String!, $m: Int!, $pr: Int) { setPricingRule(pattern: $p, markupBps: $m, priority: $pr) { id pattern markupBps priority } }';
    const first = await api.ok<{ setPricingRule: { id: string } }>(
      SET,
      { p: 'openai/*', m: 3000, pr: 5 },
      { token: admin.token },
    );
    const replaced = await api.ok<{ setPricingRule: { id: string; markupBps: number } }>(
      SET,
      { p: 'openai/*', m: 3500 },
      { token: admin.token },
    );
    expect(replaced.setPricingRule).toMatchObject({ id: first.setPricingRule.id, markupBps: 3500 });
    const listed = await api.ok<{ pricingRules: { pattern: string; markupBps: number }[] }>(
      '{ pricingRules { pattern markupBps } }',
      {},
      { token: admin.token },
    );
    expect(listed.pricingRules).toEqual([{ pattern: 'openai/*', markupBps: 3500 }]);
    expect(codes(await api.gql(SET, { p: 'bad pattern!', m: 1 }, { token: admin.token }))).toEqual(['INVALID_INPUT']);
    expect(codes(await api.gql(SET, { p: 'x/*', m: -1 }, { token: admin.token }))).toEqual(['INVALID_INPUT']);
    await api.ok(
      'mutation($id: ID!) { deletePricingRule(id: $id) }',
      { id: first.setPricingRule.id },
      { token: admin.token },
    );
    expect(
      codes(
        await api.gql(
          'mutation($id: ID!) { deletePricingRule(id: $id) }',
          { id: first.setPricingRule.id },
          { token: admin.token },
        ),
      ),
    ).toEqual(['NOT_FOUND']);
  });

  test('customers cannot see or change pricing rules', async () => {
    expect(codes(await api.gql('{ pricingRules { id } }', {}, { token: customer.token }))).toEqual(['FORBIDDEN']);
    expect(
      codes(
        await api.gql('mutation { setPricingRule(pattern: "*", markupBps: 0) { id } }', {}, { token: customer.token }),
      ),
    ).toEqual(['FORBIDDEN']);
  });
});

describe('rate-limit policies', () => {
  const SET = `mutation($k: PolicySubjectKind!, $id: ID, $l: RateLimitInput!) {
    setRateLimitPolicy(subjectKind: $k, subjectId: $id, limits: $l) { id subjectKind subjectId requestsPerMinute spendPerDay { usd } }
  }`;

  test('an admin sets policies for the tenant and an account, which the account sees as its limits', async () => {
    const tenantPolicy = await api.ok<{ setRateLimitPolicy: { subjectId: string } }>(
      SET,
      { k: 'TENANT', l: { requestsPerMinute: 600 } },
      { token: admin.token },
    );
    expect(tenantPolicy.setRateLimitPolicy.subjectId).toBe(api.root.id);
    const limited = await api.person(api.root);
    const mine = await api.ok<{ viewer: { account: { limits: unknown } } }>(
      '{ viewer { account { limits { appliesTo requestsPerMinute spendPerDay { usd } } } } }',
      {},
      { token: limited.token },
    );
    expect(mine.viewer.account.limits).toEqual({ appliesTo: 'tenant', requestsPerMinute: 600, spendPerDay: null });
    await api.ok(
      SET,
      { k: 'ACCOUNT', id: limited.account.id, l: { requestsPerMinute: 10, spendPerDay: { usd: '1' } } },
      { token: admin.token },
    );
    const again = await api.ok<{ viewer: { account: { limits: unknown } } }>(
      '{ viewer { account { limits { appliesTo requestsPerMinute spendPerDay { usd } } } } }',
      {},
      { token: limited.token },
    );
    expect(again.viewer.account.limits).toEqual({
      appliesTo: 'account',
      requestsPerMinute: 10,
      spendPerDay: { usd: '1.00' },
    });
    const listed = await api.ok<{ rateLimitPolicies: { subjectKind: string }[] }>(
      '{ rateLimitPolicies { subjectKind } }',
      {},
      { token: admin.token },
    );
    expect(listed.rateLimitPolicies.map((p) => p.subjectKind).sort()).toEqual(['ACCOUNT', 'TENANT']);
    expect(codes(await api.gql(SET, { k: 'TENANT', l: { requestsPerMinute: 0 } }, { token: admin.token }))).toEqual([
      'INVALID_INPUT',
    ]);
    expect(codes(await api.gql(SET, { k: 'TENANT', l: {} }, { token: customer.token }))).toEqual(['FORBIDDEN']);
  });

  test('a whole-tenant cap is a policy apart, and each account sees its effective limits and spend', async () => {
    const whole = await api.ok<{ setRateLimitPolicy: { subjectKind: string; subjectId: string } }>(
      SET,
      { k: 'WHOLE_TENANT', l: { requestsPerMinute: 5_000, spendPerDay: { usd: '50' } } },
      { token: admin.token },
    );
    expect(whole.setRateLimitPolicy).toMatchObject({ subjectKind: 'WHOLE_TENANT', subjectId: api.root.id });
    await api.ok(SET, { k: 'TENANT', l: { requestsPerMinute: 60 } }, { token: admin.token });
    const person = await api.person(api.root);
    const EFFECTIVE = `{ viewer { account { effectiveLimits {
      account { subjectKind requestsPerMinute } wholeTenant { subjectKind requestsPerMinute spendPerDay { usd } }
      spentToday { nanos } spentThisMonth { nanos } } } } }`;
    type Effective = { viewer: { account: { effectiveLimits: Record<string, unknown> } } };
    const defaulted = await api.ok<Effective>(EFFECTIVE, {}, { token: person.token });
    expect(defaulted.viewer.account.effectiveLimits).toEqual({
      account: { subjectKind: 'TENANT', requestsPerMinute: 60 },
      wholeTenant: { subjectKind: 'WHOLE_TENANT', requestsPerMinute: 5_000, spendPerDay: { usd: '50.00' } },
      spentToday: { nanos: '0' },
      spentThisMonth: { nanos: '0' },
    });
    await api.ok(SET, { k: 'ACCOUNT', id: person.account.id, l: { requestsPerMinute: 200 } }, { token: admin.token });
    const own = await api.ok<Effective>(EFFECTIVE, {}, { token: person.token });
    expect(own.viewer.account.effectiveLimits.account).toEqual({ subjectKind: 'ACCOUNT', requestsPerMinute: 200 });
    const kinds = await api.ok<{ rateLimitPolicies: { subjectKind: string }[] }>(
      '{ rateLimitPolicies { subjectKind } }',
      {},
      { token: admin.token },
    );
    expect(kinds.rateLimitPolicies.map((p) => p.subjectKind)).toContain('WHOLE_TENANT');
    expect(codes(await api.gql(SET, { k: 'WHOLE_TENANT', l: {} }, { token: customer.token }))).toEqual(['FORBIDDEN']);
  });
});

describe('branding and custom domain', () => {
  test('an admin brands the tenant, and a proved custom domain makes the host resolve to it', async () => {
    const reseller = await api.tenant('brand-co');
    const resellerAdmin = await api.person(reseller, 'admin');
    const BRAND =
      'mutation($i: BrandingInput!) { updateBranding(input: $i) { branding { name primaryColor logoUrl supportEmail } } }';
    const input = {
      name: 'Brand Co AI',
      primaryColor: '#112233',
      logoUrl: 'https://brand.example/logo.svg',
      supportEmail: 'help@brand.example',
    };
    const branded = await api.ok<{ updateBranding: { branding: unknown } }>(
      BRAND,
      { i: input },
      { token: resellerAdmin.token },
    );
    expect(branded.updateBranding.branding).toEqual(input);
    expect(codes(await api.gql(BRAND, { i: { primaryColor: 'red' } }, { token: resellerAdmin.token }))).toEqual([
      'INVALID_INPUT',
    ]);
    // Proving the domain is tests/schema/domains.test.ts's subject; here it is taken as proved.
    await api.sql`update tenants set custom_domain = 'ai.brand.example' where id = ${reseller.id}::uuid`;
    const anonymous = await api.ok<{ tenant: { slug: string; branding: { name: string } } }>(
      '{ tenant { slug branding { name } } }',
      {},
      { host: 'ai.brand.example:443' },
    );
    expect(anonymous.tenant).toEqual({ slug: 'brand-co', branding: { name: 'Brand Co AI' } });
    const signUp = await api.ok<{ signUp: { token: string } }>(
      'mutation { signUp(email: "via-domain@x.example", password: "long enough pw") { token } }',
      {},
      { host: 'ai.brand.example' },
    );
    const viewer = await api.ok<{ viewer: { tenant: { slug: string } } }>(
      '{ viewer { tenant { slug } } }',
      {},
      { token: signUp.signUp.token },
    );
    expect(viewer.viewer.tenant.slug).toBe('brand-co');
    const taken = await api.gql(
      'mutation { setCustomDomain(domain: "ai.brand.example") { id } }',
      {},
      { token: admin.token },
    );
    expect(taken.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT', field: 'domain' });
  });

  test("a reseller's customers are shown its own API URL and home page text, never the installation's", async () => {
    const reseller = await api.tenant('own-api-co');
    const resellerAdmin = await api.person(reseller, 'admin');
    const SHOWN = '{ tenant { branding { apiUrl publicApiUrl headline tagline } } }';
    const BRAND = 'mutation($i: BrandingInput!) { updateBranding(input: $i) { branding { apiUrl publicApiUrl } } }';
    type Shown = { tenant: { branding: Record<string, string | null> } };
    const before = await api.ok<Shown>(SHOWN, {}, { token: resellerAdmin.token });
    expect(before.tenant.branding).toEqual({ apiUrl: null, publicApiUrl: null, headline: null, tagline: null });

    // A proved domain alone gives the customers its https address.
    await api.sql`update tenants set custom_domain = 'ai.own-api.example' where id = ${reseller.id}::uuid`;
    const onDomain = await api.ok<Shown>(SHOWN, {}, { host: 'ai.own-api.example' });
    expect(onDomain.tenant.branding.publicApiUrl).toBe('https://ai.own-api.example');

    // A URL set by hand wins, and a trailing /v1 or slash is taken off (the portal adds /v1).
    const set = await api.ok<{ updateBranding: { branding: unknown } }>(
      BRAND,
      { i: { apiUrl: 'https://api.own-api.example/v1/', headline: 'Own models', tagline: 'Cheap tokens.' } },
      { token: resellerAdmin.token },
    );
    expect(set.updateBranding.branding).toEqual({
      apiUrl: 'https://api.own-api.example',
      publicApiUrl: 'https://api.own-api.example',
    });
    const shown = await api.ok<Shown>(SHOWN, {}, { host: 'ai.own-api.example' });
    expect(shown.tenant.branding).toMatchObject({ headline: 'Own models', tagline: 'Cheap tokens.' });
    // The root tenant's visitors still see no override.
    const root = await api.ok<Shown>(SHOWN);
    expect(root.tenant.branding.publicApiUrl).toBeNull();

    const refusedValues = [
      { apiUrl: 'ftp://api.example' },
      { apiUrl: 'not a url' },
      { apiUrl: 'https://user:secret@api.example' },
      { apiUrl: 'https://api.example?key=1' },
      { headline: 'x'.repeat(121) },
    ];
    for (const bad of refusedValues) {
      const refused = await api.gql(BRAND, { i: bad }, { token: resellerAdmin.token });
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT', field: Object.keys(bad)[0] });
    }
  });

  test("signed out, the tenant's admin fields are refused", async () => {
    const result = await api.gql('{ tenant { name markupBps } }');
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
  });

  test('an admin renames the tenant and sets its default markup', async () => {
    const reseller = await api.tenant('rename-co');
    const resellerAdmin = await api.person(reseller, 'admin');
    const updated = await api.ok<{ updateTenant: unknown }>(
      'mutation { updateTenant(name: "Renamed", markupBps: 2500) { name markupBps } }',
      {},
      { token: resellerAdmin.token },
    );
    expect(updated.updateTenant).toEqual({ name: 'Renamed', markupBps: 2500 });
    expect(
      codes(await api.gql('mutation { updateTenant(name: "Mine") { name } }', {}, { token: customer.token })),
    ).toEqual(['FORBIDDEN']);
  });
});
