import { afterAll, beforeAll, expect, test } from 'bun:test';
import { PASSWORD, startApi, type ApiHarness, type Person } from './harness.ts';

/**
 * Cross-site request forgery: a request the session cookie authenticates runs only as a JSON POST
 * from an allowed origin (or a client that names none); bearer-token integrators are unaffected.
 */

const PORTAL = 'https://portal.example.com';
const EVIL = 'https://evil.example';
const MINT = 'mutation { createApiKey { key } }';
let api: ApiHarness;
let person: Person;

beforeAll(async () => {
  api = await startApi({ PORTAL_URL: PORTAL, PUBLIC_URL: 'https://api.example.com' });
  person = await api.person(api.root);
});
afterAll(() => api.close());

async function keyCount(): Promise<number> {
  const [row] = await api.sql<{ n: number }[]>`
    select count(*)::int4 as n from api_keys where account_id = ${person.account.id}::uuid`;
  return row?.n ?? 0;
}

function post(body: string, headers: Record<string, string>): Promise<Response> {
  return fetch(api.url, { method: 'POST', headers, body });
}

const cookie = () => `tollgate_session=${person.token}`;
const form = (query: string) => new URLSearchParams({ query }).toString();

test('a form-encoded mutation from another site, signed in by cookie, is refused and changes nothing', async () => {
  const before = await keyCount();
  const response = await post(form(MINT), {
    'content-type': 'application/x-www-form-urlencoded',
    cookie: cookie(),
    origin: EVIL,
  });
  expect(response.status).toBe(415);
  expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe(
    'CSRF_REFUSED',
  );
  const plain = await post(JSON.stringify({ query: MINT }), { 'content-type': 'text/plain', cookie: cookie() });
  expect(plain.status).toBe(415);
  const multipart = new FormData();
  multipart.set('query', MINT);
  const parts = await fetch(api.url, { method: 'POST', headers: { cookie: cookie() }, body: multipart });
  expect(parts.status).toBe(415);
  expect(await keyCount()).toBe(before);
});

test('a JSON mutation signed in by cookie runs from an allowed origin or none, and is refused from another', async () => {
  const before = await keyCount();
  const json = { 'content-type': 'application/json; charset=utf-8', cookie: cookie() };
  const evil = await post(JSON.stringify({ query: MINT }), { ...json, origin: EVIL });
  expect(evil.status).toBe(403);
  expect(await keyCount()).toBe(before);
  expect((await post(JSON.stringify({ query: MINT }), { ...json, origin: PORTAL })).status).toBe(200);
  expect((await post(JSON.stringify({ query: MINT }), json)).status).toBe(200);
  expect(await keyCount()).toBe(before + 2);
});

test('a GET query signed in by cookie is refused; the same GET with no cookie still answers', async () => {
  const url = `${api.url}?query=${encodeURIComponent('{ viewer { kind } }')}`;
  expect((await fetch(url, { headers: { cookie: cookie() } })).status).toBe(403);
  expect((await fetch(url)).status).toBe(200);
});

test('another site cannot sign a visitor in with a form post (login CSRF)', async () => {
  const SIGN_IN = `mutation { signIn(email: "${person.account.email}", password: "${PASSWORD}") { token } }`;
  const response = await post(form(SIGN_IN), { 'content-type': 'application/x-www-form-urlencoded', origin: EVIL });
  expect(response.status).toBe(415);
  expect(response.headers.get('set-cookie')).toBeNull();
});

test('a bearer-token integrator is unaffected, whatever the origin, and GET queries still work for it', async () => {
  const before = await keyCount();
  const bearer = { authorization: `Bearer ${person.token}` };
  const response = await post(JSON.stringify({ query: MINT }), {
    ...bearer,
    'content-type': 'application/json',
    origin: EVIL,
    cookie: 'tollgate_session=tgs-other',
  });
  expect(response.status).toBe(200);
  expect(await keyCount()).toBe(before + 1);
  const get = await fetch(`${api.url}?query=${encodeURIComponent('{ viewer { kind } }')}`, { headers: bearer });
  expect(((await get.json()) as { data: { viewer: { kind: string } } }).data.viewer.kind).toBe('ACCOUNT');
});
