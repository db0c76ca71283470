import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startApi, type ApiHarness, type Person } from './harness.ts';

/**
 * Every text a person types has a length limit on the server: a value of thousands of characters
 * is refused with INVALID_INPUT naming its field, and nothing of it is stored.
 */

const LONG = 'x'.repeat(5_000);

let api: ApiHarness;
let admin: Person;
let customer: Person;
beforeAll(async () => {
  api = await startApi();
  admin = await api.person(api.root, 'admin');
  customer = await api.person(api.root, 'customer');
});
afterAll(() => api.close());

type Case = {
  what: string;
  field: string;
  query: string;
  variables: () => Record<string, unknown>;
  as: () => Person | null;
};

const CASES: Case[] = [
  {
    what: 'a display name at sign-up',
    field: 'displayName',
    query:
      'mutation($n: String) { signUp(email: "long-name@example.com", password: "a long enough password", displayName: $n) { token } }',
    variables: () => ({ n: LONG }),
    as: () => null,
  },
  {
    what: 'a display name on a profile',
    field: 'displayName',
    query: 'mutation($n: String) { updateProfile(displayName: $n) { id } }',
    variables: () => ({ n: LONG }),
    as: () => customer,
  },
  {
    what: "a new customer's display name",
    field: 'displayName',
    query: 'mutation($n: String) { createCustomer(email: "made@example.com", displayName: $n) { id } }',
    variables: () => ({ n: LONG }),
    as: () => admin,
  },
  {
    what: 'a key name',
    field: 'name',
    query: 'mutation($n: String!) { createApiKey(input: { name: $n }) { key } }',
    variables: () => ({ n: LONG }),
    as: () => customer,
  },
  {
    what: 'an adjustment reason',
    field: 'reason',
    query:
      'mutation($id: ID!, $r: String!) { adjustCredit(accountId: $id, input: { amount: { usd: "1" }, reason: $r, funding: GRANTED, idempotencyKey: "long-reason" }) { applied } }',
    variables: () => ({ id: customer.account.id, r: LONG }),
    as: () => admin,
  },
  {
    what: 'a tenant name',
    field: 'name',
    query: 'mutation($n: String) { updateTenant(name: $n) { id } }',
    variables: () => ({ n: LONG }),
    as: () => admin,
  },
  {
    what: 'a brand name',
    field: 'name',
    query: 'mutation($n: String) { updateBranding(input: { name: $n }) { id } }',
    variables: () => ({ n: LONG }),
    as: () => admin,
  },
  {
    what: 'a support e-mail',
    field: 'supportEmail',
    query: 'mutation($e: String) { updateBranding(input: { supportEmail: $e }) { id } }',
    variables: () => ({ e: `${LONG}@example.com` }),
    as: () => admin,
  },
  {
    what: 'a customer search',
    field: 'search',
    query: 'query($s: String) { customers(search: $s) { edges { node { id } } } }',
    variables: () => ({ s: LONG }),
    as: () => admin,
  },
  {
    what: 'a usage filter on the model',
    field: 'model',
    query: 'query($m: String) { usage(filter: { model: $m }) { edges { node { id } } } }',
    variables: () => ({ m: LONG }),
    as: () => customer,
  },
  {
    what: 'a management token name',
    field: 'name',
    query: 'mutation($n: String!) { createManagementToken(name: $n) { token } }',
    variables: () => ({ n: LONG }),
    as: () => admin,
  },
];

test.each(CASES.map((c) => [c.what, c] as const))(
  'refuses %s of 5000 characters, naming the field',
  async (_what, c) => {
    const person = c.as();
    const result = await api.gql(c.query, c.variables(), person ? { token: person.token } : {});
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT', field: c.field });
  },
);

test('nothing of a refused long value is stored', async () => {
  const [stored] = await api.sql<{ n: number }[]>`
    select (select count(*) from accounts where length(coalesce(display_name, '')) > 1000)
         + (select count(*) from api_keys where length(name) > 1000)
         + (select count(*) from tenants where length(name) > 1000) as n`;
  expect(Number(stored?.n)).toBe(0);
});
