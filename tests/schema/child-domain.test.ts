import { afterAll, beforeAll, expect, test } from 'bun:test';
import { PASSWORD, startApi, type ApiHarness, type Person } from './harness.ts';

/** A reseller created with its domain: the parent's form claims it, with the checks setCustomDomain makes. */

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

test('a reseller created with a domain has it claimed, served only once proved; a malformed one creates nothing', async () => {
  const created = await api.ok<{ createChildTenant: { tenant: { id: string; customDomain: string | null } } }>(
    CREATE,
    { input: input('with-domain', ' AI.With-Domain.example ') },
    { token: operator.token },
  );
  // Like setCustomDomain: a claim to prove (issue 18.1), not a host that routes to the tenant yet.
  expect(created.createChildTenant.tenant.customDomain).toBeNull();
  const claims = await api.sql<{ domain: string; verified_at: Date | null }[]>`
    select domain, verified_at from domain_claims where tenant_id = ${created.createChildTenant.tenant.id}::uuid`;
  expect([...claims]).toEqual([{ domain: 'ai.with-domain.example', verified_at: null }]);
  const refused = await api.gql(CREATE, { input: input('second', 'not a host') }, { token: operator.token });
  expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT', field: 'customDomain' });
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
