import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createAccount } from '../../db/queries/accounts.ts';
import { createApiKey } from '../../db/queries/api-keys.ts';
import { createTenant, type Tenant } from '../../db/queries/tenants.ts';
import { createLiveEvents } from '../../schema/live-events.ts';
import { createGraphqlHandler } from '../../schema/server.ts';
import { eventually, PEPPER, startHarness, type Harness } from '../gateway/harness.ts';
import { PASSWORD } from './harness.ts';

/**
 * Suspension covers the subtree: with a reseller suspended, its sub-reseller's customers' keys stop
 * at /v1, and the sub-reseller's admins can no longer sign in, use their sessions or management
 * tokens, or mint keys, although the sub-reseller itself is still marked active.
 */

let h: Harness;
let graphqlUrl: string;
let reseller: Tenant;
let sub: Tenant;

beforeAll(async () => {
  h = await startHarness(
    {},
    {
      mount: (app, services) => {
        const handler = createGraphqlHandler({ ...services, events: createLiveEvents() });
        app.all('/graphql', ({ request }) => handler(request));
      },
    },
  );
  graphqlUrl = `${h.gateway.url}/graphql`;
  reseller = await createTenant(h.sql, { slug: 'reseller-a', name: 'A', markupBps: 1000, parentId: h.rootTenantId });
  sub = await createTenant(h.sql, { slug: 'sub-b', name: 'B', markupBps: 1000, parentId: reseller.id });
});
afterAll(() => h.close());

type Answer = { data: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] };

async function gql(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<Answer> {
  const response = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as Answer;
}

function dataOf<T>(answer: Answer, name: string): T {
  const value = answer.data?.[name];
  if (value === undefined || value === null) throw new Error(`no ${name}: ${JSON.stringify(answer.errors)}`);
  return value as T;
}

const code = (answer: Answer) => answer.errors?.[0]?.extensions?.code;
const SIGN_IN =
  'mutation($e: String!, $p: String!, $t: String) { signIn(email: $e, password: $p, tenantSlug: $t) { token } }';

async function person(tenant: Tenant, role: 'admin' | 'operator', email: string): Promise<string> {
  const passwordHash = await Bun.password.hash(PASSWORD, { algorithm: 'argon2id' });
  await createAccount(h.sql, { tenantId: tenant.id, email, role, passwordHash });
  const answer = await gql(SIGN_IN, { e: email, p: PASSWORD, t: tenant.slug });
  return dataOf<{ token: string }>(answer, 'signIn').token;
}

const keyStatus = async (key: string) =>
  (await fetch(`${h.gateway.url}/v1/key`, { headers: { authorization: `Bearer ${key}` } })).status;

test("suspending a reseller stops its sub-reseller's keys, admins, tokens and key minting; reactivating restores them", async () => {
  const root = { id: h.rootTenantId, slug: 'root' } as Tenant;
  const operator = await person(root, 'operator', 'op@root.example');
  const subAdmin = await person(sub, 'admin', 'admin@sub-b.example');
  const customer = await createAccount(h.sql, { tenantId: sub.id, email: 'c@sub-b.example' });
  const { key } = await createApiKey(h.sql, PEPPER, { accountId: customer.id });
  const minted = await gql('mutation { createManagementToken(name: "sync") { token } }', {}, subAdmin);
  const managementToken = dataOf<{ token: string }>(minted, 'createManagementToken').token;
  const MINT = 'mutation($a: ID) { createApiKey(accountId: $a) { key } }';
  expect(await keyStatus(key)).toBe(200);
  expect(code(await gql(MINT, { a: customer.id }, subAdmin))).toBeUndefined();

  const SET = 'mutation($id: ID!, $s: Status!) { setChildTenantStatus(id: $id, status: $s) { status } }';
  expect(code(await gql(SET, { id: reseller.id, s: 'SUSPENDED' }, operator))).toBeUndefined();
  expect(
    await eventually(
      () => keyStatus(key),
      (status) => status === 403,
    ),
  ).toBe(403);
  expect(code(await gql('{ viewer { kind } }', {}, subAdmin))).toBe('FORBIDDEN');
  expect(code(await gql('{ viewer { kind } }', {}, managementToken))).toBe('FORBIDDEN');
  expect(code(await gql(MINT, { a: customer.id }, managementToken))).toBe('FORBIDDEN');
  expect(code(await gql(SIGN_IN, { e: 'admin@sub-b.example', p: PASSWORD, t: 'sub-b' }))).toBe('FORBIDDEN');
  const signUp =
    'mutation { signUp(email: "new@sub-b.example", password: "long enough pw", tenantSlug: "sub-b") { token } }';
  expect(code(await gql(signUp))).toBe('FORBIDDEN');
  const [own] = await h.sql<{ status: string }[]>`select status from tenants where id = ${sub.id}::uuid`;
  expect(own?.status).toBe('active');

  expect(code(await gql(SET, { id: reseller.id, s: 'ACTIVE' }, operator))).toBeUndefined();
  expect(
    await eventually(
      () => keyStatus(key),
      (status) => status === 200,
    ),
  ).toBe(200);
  expect(code(await gql('{ viewer { kind } }', {}, subAdmin))).toBeUndefined();
  expect(code(await gql(MINT, { a: customer.id }, managementToken))).toBeUndefined();
});
