import { afterAll, beforeAll, expect, test } from 'bun:test';
import { PASSWORD, startApi, type ApiHarness, type Person } from './harness.ts';

/** A reseller created with its domain: the parent's form sets it, with the checks setCustomDomain makes. */

let api: ApiHarness;
let operator: Person;
beforeAll(async () => {
  api = await startApi();
  operator = await api.person(api.root, 'operator');
});
afterAll(() => api.close());

const CREATE = `mutation($input: NewChildTenantInput!) { createChildTenant(input: $input) { tenant { id slug customDomain } } }`;
const input = (slug: string, customDomain?: string) => ({
  slug,
  name: slug,
  markupBps: 1000,
  adminEmail: `admin@${slug}.example`,
  adminPassword: PASSWORD,
  customDomain,
});

test('a reseller created with a domain is served there, and another cannot take the same domain', async () => {
  const created = await api.ok<{ createChildTenant: { tenant: { customDomain: string | null } } }>(
    CREATE,
    { input: input('with-domain', ' AI.With-Domain.example ') },
    { token: operator.token },
  );
  expect(created.createChildTenant.tenant.customDomain).toBe('ai.with-domain.example');
  const taken = await api.gql(CREATE, { input: input('second', 'ai.with-domain.example') }, { token: operator.token });
  expect(taken.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT', field: 'customDomain' });
  // The refused reseller was not created half-way.
  await expect(api.sql`select 1 from tenants where slug = 'second'`.then((rows) => rows.length)).resolves.toBe(0);
});

test('a domain that is not a host name is refused, naming the field; none at all is fine', async () => {
  const bad = await api.gql(CREATE, { input: input('bad-domain', 'not a host') }, { token: operator.token });
  expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT', field: 'customDomain' });
  const none = await api.ok<{ createChildTenant: { tenant: { customDomain: string | null } } }>(
    CREATE,
    { input: input('no-domain') },
    { token: operator.token },
  );
  expect(none.createChildTenant.tenant.customDomain).toBeNull();
});
