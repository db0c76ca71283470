import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { codes, startApi, type ApiHarness } from './harness.ts';

/** Clerk session tokens are RS256 JWTs; these tests sign their own with a local RSA key. */

type KeyPair = { privateKey: CryptoKey; pem: string };

async function rsaKey(): Promise<KeyPair> {
  const pair = await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  );
  const spki = Buffer.from(await crypto.subtle.exportKey('spki', pair.publicKey)).toString('base64');
  const pem = `-----BEGIN PUBLIC KEY-----\n${spki.match(/.{1,64}/g)?.join('\n')}\n-----END PUBLIC KEY-----`;
  return { privateKey: pair.privateKey, pem };
}

const base64url = (value: string | ArrayBuffer) =>
  Buffer.from(typeof value === 'string' ? value : new Uint8Array(value)).toString('base64url');

async function clerkToken(key: CryptoKey, claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'ins_test' }));
  const payload = base64url(
    JSON.stringify({ iss: 'https://clerk.test', sid: 'sess_1', iat: now - 5, nbf: now - 5, exp: now + 60, ...claims }),
  );
  const signature = await crypto.subtle.sign(
    'RSASSA-PKCS1-v1_5',
    key,
    new TextEncoder().encode(`${header}.${payload}`),
  );
  return `${header}.${payload}.${base64url(signature)}`;
}

const VIEWER = '{ viewer { kind account { id email role } tenant { slug } } }';

let api: ApiHarness;
let clerk: KeyPair;
let foreign: KeyPair;

beforeAll(async () => {
  [clerk, foreign] = await Promise.all([rsaKey(), rsaKey()]);
  api = await startApi({ CLERK_JWT_KEY: clerk.pem });
});
afterAll(() => api.close());

describe('Clerk session tokens', () => {
  test('a valid token is accepted and creates a customer account on first sight, linked to the Clerk user', async () => {
    const token = await clerkToken(clerk.privateKey, { sub: 'user_first', email: 'first@clerk.example' });
    const first = await api.ok<{ viewer: { kind: string; account: { id: string; email: string; role: string } } }>(
      VIEWER,
      {},
      { token },
    );
    expect(first.viewer.account).toMatchObject({ email: 'first@clerk.example', role: 'CUSTOMER' });
    const again = await api.ok<{ viewer: { account: { id: string } } }>(VIEWER, {}, { token });
    expect(again.viewer.account.id).toBe(first.viewer.account.id);
    const rows = await api.sql<
      { clerk_user_id: string; tenant_id: string }[]
    >`select clerk_user_id, tenant_id from accounts where clerk_user_id = 'user_first'`;
    expect(rows).toHaveLength(1);
    expect(rows[0]?.tenant_id).toBe(api.root.id);
  });

  test("Clerk's __session cookie works like the bearer token", async () => {
    const token = await clerkToken(clerk.privateKey, { sub: 'user_cookie', email: 'cookie@clerk.example' });
    const result = await api.ok<{ viewer: { account: { email: string } } }>(
      VIEWER,
      {},
      { cookie: `__session=${token}` },
    );
    expect(result.viewer.account.email).toBe('cookie@clerk.example');
  });

  test('a Clerk user seen first on a custom domain joins that tenant', async () => {
    const reseller = await api.tenant('clerk-reseller');
    await api.sql`update tenants set custom_domain = 'ai.reseller.example' where id = ${reseller.id}::uuid`;
    const token = await clerkToken(clerk.privateKey, { sub: 'user_reseller', email: 'r@clerk.example' });
    const result = await api.ok<{ viewer: { tenant: { slug: string } } }>(
      VIEWER,
      {},
      { token, host: 'ai.reseller.example' },
    );
    expect(result.viewer.tenant.slug).toBe('clerk-reseller');
  });

  test('an expired token is refused and creates nothing', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await clerkToken(clerk.privateKey, {
      sub: 'user_expired',
      email: 'expired@clerk.example',
      iat: now - 600,
      nbf: now - 600,
      exp: now - 300,
    });
    const result = await api.gql(VIEWER, {}, { token });
    expect(result.status).toBe(401);
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
    expect(await api.sql`select 1 from accounts where clerk_user_id = 'user_expired'`).toHaveLength(0);
  });

  test('a token signed with a foreign key is refused and creates nothing', async () => {
    const token = await clerkToken(foreign.privateKey, { sub: 'user_forged', email: 'forged@clerk.example' });
    const result = await api.gql(VIEWER, {}, { token });
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
    expect(await api.sql`select 1 from accounts where clerk_user_id = 'user_forged'`).toHaveLength(0);
  });

  test('a tampered payload is refused', async () => {
    const token = await clerkToken(clerk.privateKey, { sub: 'user_tamper', email: 'tamper@clerk.example' });
    const [header, , signature] = token.split('.');
    const forged = `${header}.${base64url(JSON.stringify({ sub: 'user_first', exp: Math.floor(Date.now() / 1000) + 60 }))}.${signature}`;
    expect(codes(await api.gql(VIEWER, {}, { token: forged }))).toEqual(['UNAUTHENTICATED']);
  });

  test('a token without an e-mail claim is refused with instructions when no secret key is configured', async () => {
    const token = await clerkToken(clerk.privateKey, { sub: 'user_no_email' });
    const result = await api.gql(VIEWER, {}, { token });
    expect(codes(result)).toEqual(['FORBIDDEN']);
    expect(result.errors?.[0]?.message).toContain('email');
  });
});

test('without Clerk configured a JWT is just an unrecognised token', async () => {
  const plain = await startApi();
  try {
    const token = await clerkToken(clerk.privateKey, { sub: 'user_x', email: 'x@clerk.example' });
    expect(codes(await plain.gql(VIEWER, {}, { token }))).toEqual(['UNAUTHENTICATED']);
  } finally {
    await plain.close();
  }
});
