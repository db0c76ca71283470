import { afterAll, beforeAll, expect, test } from 'bun:test';
import { CORS_CACHE_TTL_MS } from '../../cors/policies.ts';
import { codes, startApi, type ApiHarness, type Person } from './harness.ts';

/** CORS on /graphql: the portal and each tenant's own origins with credentials, every other origin refused. */

const PORTAL = 'https://portal.example.com';
let api: ApiHarness;
let admin: Person;

beforeAll(async () => {
  api = await startApi({ PORTAL_URL: PORTAL, PUBLIC_URL: 'https://api.example.com' });
  const reseller = await api.tenant('acme');
  await api.sql`update tenants set custom_domain = 'ai.acme.example' where id = ${reseller.id}::uuid`;
  admin = await api.person(reseller, 'admin');
});
afterAll(async () => {
  await api.close();
});

function preflight(origin: string, host?: string): Promise<Response> {
  return fetch(api.url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
      ...(host ? { host } : {}),
    },
  });
}

test("a browser preflight from the portal's origin is allowed with credentials", async () => {
  const response = await preflight(PORTAL);
  expect(response.status).toBe(204);
  expect(response.headers.get('access-control-allow-origin')).toBe(PORTAL);
  expect(response.headers.get('access-control-allow-credentials')).toBe('true');
  expect(response.headers.get('access-control-allow-methods')).toContain('POST');
  expect(response.headers.get('access-control-allow-headers')).toBe('content-type');
  expect(response.headers.get('access-control-max-age')).toBe('600');
});

test('a browser preflight from any other origin is refused with 403 and no allow-origin header', async () => {
  const response = await preflight('https://evil.example');
  expect(response.status).toBe(403);
  expect(response.headers.get('access-control-allow-origin')).toBeNull();
  expect(response.headers.get('access-control-allow-credentials')).toBeNull();
});

test("a reseller's custom domain is an allowed origin on its own host only", async () => {
  expect((await preflight('https://ai.acme.example', 'ai.acme.example')).status).toBe(204);
  expect((await preflight('https://ai.acme.example')).status).toBe(403);
});

test('an answer to an allowed origin can be read by the page and exposes the request headers; another origin gets none', async () => {
  const query = JSON.stringify({ query: '{ tenant { slug } }' });
  const allowed = await fetch(api.url, {
    method: 'POST',
    headers: { origin: PORTAL, 'content-type': 'application/json' },
    body: query,
  });
  expect(allowed.status).toBe(200);
  expect(allowed.headers.get('access-control-allow-origin')).toBe(PORTAL);
  expect(allowed.headers.get('access-control-expose-headers')).toContain('x-request-id');
  expect(allowed.headers.get('vary')).toContain('Origin');
  const other = await fetch(api.url, {
    method: 'POST',
    headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
    body: query,
  });
  expect(other.headers.get('access-control-allow-origin')).toBeNull();
});

test("an admin's added origin is allowed on the tenant's host within the cache's life, and shown back normalized", async () => {
  const result = await api.ok<{ setCorsOrigins: { corsOrigins: { graphql: string[]; api: string[] } } }>(
    'mutation($g: [String!]) { setCorsOrigins(graphql: $g) { corsOrigins { graphql api } } }',
    { g: ['https://Dashboard.Acme.example/', 'https://dashboard.acme.example:443'] },
    { token: admin.token },
  );
  expect(result.setCorsOrigins.corsOrigins).toEqual({ graphql: ['https://dashboard.acme.example'], api: [] });
  await Bun.sleep(CORS_CACHE_TTL_MS + 100);
  expect((await preflight('https://dashboard.acme.example', 'ai.acme.example')).status).toBe(204);
  expect((await preflight('https://dashboard.acme.example')).status).toBe(403);
});

test('setCorsOrigins refuses something that is not an origin, and anyone but an admin', async () => {
  const bad = await api.gql(
    'mutation { setCorsOrigins(api: ["https://app.example/path"]) { id } }',
    {},
    { token: admin.token },
  );
  expect(codes(bad)).toEqual(['INVALID_INPUT']);
  const customer = await api.person(api.root);
  const denied = await api.gql(
    'mutation { setCorsOrigins(api: ["https://app.example"]) { id } }',
    {},
    { token: customer.token },
  );
  expect(codes(denied)).toEqual(['FORBIDDEN']);
});
