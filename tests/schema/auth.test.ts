import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { codes, PASSWORD, startApi, type ApiHarness } from './harness.ts';

let api: ApiHarness;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

const SIGN_UP = `mutation($email: String!, $password: String!, $tenantSlug: String) {
  signUp(email: $email, password: $password, tenantSlug: $tenantSlug) { token expiresAt account { id email role } }
}`;
const VIEWER = '{ viewer { kind role isAdmin account { id email } tenant { slug } } }';

describe('built-in accounts', () => {
  test('signing up creates a customer in the root tenant with a session token and an HttpOnly cookie', async () => {
    const result = await api.gql<{ signUp: { token: string; account: { id: string; role: string } } }>(SIGN_UP, {
      email: 'ann@example.com',
      password: PASSWORD,
    });
    expect(result.errors).toBeUndefined();
    expect(result.data?.signUp.token).toStartWith('tgs-');
    expect(result.data?.signUp.account.role).toBe('CUSTOMER');
    const cookie = result.headers.get('set-cookie') ?? '';
    expect(cookie).toContain('tollgate_session=tgs-');
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    const [row] = await api.sql<
      { tenant_id: string; password_hash: string }[]
    >`select tenant_id, password_hash from accounts where lower(email) = 'ann@example.com'`;
    expect(row?.tenant_id).toBe(api.root.id);
    expect(row?.password_hash).toStartWith('$argon2id$');
    const [wallet] =
      await api.sql`select 1 from wallets where account_id = ${result.data?.signUp.account.id ?? ''}::uuid`;
    expect(wallet).toBeDefined();
  });

  test('the session works as a bearer token and as the cookie, and only its hash is stored', async () => {
    const signUp = await api.ok<{ signUp: { token: string } }>(SIGN_UP, {
      email: 'bob@example.com',
      password: PASSWORD,
    });
    const token = signUp.signUp.token;
    const byBearer = await api.ok<{ viewer: { account: { email: string } } }>(VIEWER, {}, { token });
    expect(byBearer.viewer.account.email).toBe('bob@example.com');
    const byCookie = await api.ok<{ viewer: { account: { email: string } } }>(
      VIEWER,
      {},
      { cookie: `tollgate_session=${token}` },
    );
    expect(byCookie.viewer.account.email).toBe('bob@example.com');
    const stored = await api.sql<
      { n: bigint }[]
    >`select count(*)::int8 as n from sessions where token_hash = sha256(${token}::bytea)`;
    expect(stored[0]?.n).toBe(1n);
    const plain =
      await api.sql`select 1 from sessions where encode(token_hash, 'escape') like ${`%${token.slice(4, 20)}%`}`;
    expect(plain.length).toBe(0);
  });

  test('signing up twice with one e-mail makes no second account: the same credentials sign in to the first', async () => {
    await api.ok(SIGN_UP, { email: 'dup@example.com', password: PASSWORD });
    const again = await api.ok<{ signUp: { account: { email: string } } }>(SIGN_UP, {
      email: 'DUP@example.com',
      password: PASSWORD,
    });
    expect(again.signUp.account.email).toBe('dup@example.com');
    const [count] = await api.sql<{ n: number }[]>`
      select count(*)::int4 as n from accounts where lower(email) = 'dup@example.com'`;
    expect(count?.n).toBe(1);
  });

  test('a short password is refused', async () => {
    const result = await api.gql(SIGN_UP, { email: 'short@example.com', password: 'short' });
    expect(codes(result)).toEqual(['INVALID_INPUT']);
  });

  test('signing in with a wrong password or an unknown e-mail answers the same UNAUTHENTICATED error', async () => {
    await api.ok(SIGN_UP, { email: 'carol@example.com', password: PASSWORD });
    const SIGN_IN = 'mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }';
    const wrong = await api.gql(SIGN_IN, { e: 'carol@example.com', p: 'not the password' });
    const unknown = await api.gql(SIGN_IN, { e: 'nobody@example.com', p: PASSWORD });
    expect(codes(wrong)).toEqual(['UNAUTHENTICATED']);
    expect(unknown.errors?.[0]?.message).toBe(wrong.errors?.[0]?.message ?? 'missing');
    const right = await api.ok<{ signIn: { token: string } }>(SIGN_IN, { e: 'CAROL@example.com', p: PASSWORD });
    expect(right.signIn.token).toStartWith('tgs-');
  });

  test('signing out ends the session and clears the cookie', async () => {
    const { token } = await api.person(api.root);
    const out = await api.gql<{ signOut: boolean }>('mutation { signOut }', {}, { token });
    expect(out.data?.signOut).toBe(true);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    const after = await api.gql(VIEWER, {}, { token });
    expect(after.status).toBe(401);
    expect(codes(after)).toEqual(['UNAUTHENTICATED']);
  });

  test('a stale session cookie is ignored and cleared, so signing in again still works', async () => {
    const result = await api.gql<{ viewer: null }>(VIEWER, {}, { cookie: 'tollgate_session=tgs-stale' });
    expect(result.errors).toBeUndefined();
    expect(result.data?.viewer).toBeNull();
    expect(result.headers.get('set-cookie')).toContain('tollgate_session=;');
  });

  test('changing the password needs the current one and signs out other sessions', async () => {
    const { account, token } = await api.person(api.root);
    const other = await api.ok<{ signIn: { token: string } }>(
      'mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }',
      { e: account.email, p: PASSWORD },
    );
    const CHANGE = 'mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }';
    const wrong = await api.gql(CHANGE, { c: 'wrong password', n: 'a new long password' }, { token });
    expect(codes(wrong)).toEqual(['INVALID_INPUT']);
    await api.ok(CHANGE, { c: PASSWORD, n: 'a new long password' }, { token });
    expect((await api.gql(VIEWER, {}, { token })).errors).toBeUndefined();
    expect(codes(await api.gql(VIEWER, {}, { token: other.signIn.token }))).toEqual(['UNAUTHENTICATED']);
    const SIGN_IN = 'mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }';
    expect(codes(await api.gql(SIGN_IN, { e: account.email, p: PASSWORD }))).toEqual(['UNAUTHENTICATED']);
    expect((await api.gql(SIGN_IN, { e: account.email, p: 'a new long password' })).errors).toBeUndefined();
  });

  test('a suspended account can neither sign in nor use its session', async () => {
    const { account, token } = await api.person(api.root);
    await api.sql`update accounts set status = 'suspended' where id = ${account.id}::uuid`;
    expect(codes(await api.gql(VIEWER, {}, { token }))).toEqual(['FORBIDDEN']);
    const signIn = await api.gql('mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }', {
      e: account.email,
      p: PASSWORD,
    });
    expect(codes(signIn)).toEqual(['FORBIDDEN']);
  });

  test('signing up to a tenant by slug puts the account there', async () => {
    const reseller = await api.tenant('acme');
    const result = await api.ok<{ signUp: { token: string } }>(SIGN_UP, {
      email: 'dan@example.com',
      password: PASSWORD,
      tenantSlug: 'acme',
    });
    const viewer = await api.ok<{ viewer: { tenant: { slug: string } } }>(VIEWER, {}, { token: result.signUp.token });
    expect(viewer.viewer.tenant.slug).toBe(reseller.slug);
    expect(
      codes(await api.gql(SIGN_UP, { email: 'eve@example.com', password: PASSWORD, tenantSlug: 'no-such-tenant' })),
    ).toEqual(['NOT_FOUND']);
  });

  test('an API key is refused on the management API with a pointer to the right credential', async () => {
    const result = await api.gql(VIEWER, {}, { token: 'tg-0123456789abcdefghijklmnopqrstuv' });
    expect(result.status).toBe(401);
    expect(result.errors?.[0]?.message).toContain('/v1');
  });

  test('nobody signed in sees a null viewer and the public tenant branding', async () => {
    const result = await api.ok<{ viewer: null; tenant: { slug: string; branding: { name: string } } }>(
      '{ viewer { kind } tenant { slug branding { name } } }',
    );
    expect(result.viewer).toBeNull();
    expect(result.tenant.slug).toBe('root');
    expect(result.tenant.branding.name).toBe(api.root.name);
  });
});

describe('management tokens', () => {
  const CREATE =
    'mutation($n: String!) { createManagementToken(name: $n) { token managementToken { id publicId active } } }';

  test('an admin mints a token that acts as the tenant admin, shown once and stored hashed', async () => {
    const admin = await api.person(api.root, 'admin');
    const created = await api.ok<{
      createManagementToken: { token: string; managementToken: { id: string; publicId: string } };
    }>(CREATE, { n: 'billing sync' }, { token: admin.token });
    const token = created.createManagementToken.token;
    expect(token).toStartWith('tgm-');
    expect(token).toStartWith(created.createManagementToken.managementToken.publicId);
    const viewer = await api.ok<{ viewer: { kind: string; role: string; isAdmin: boolean; account: null } }>(
      VIEWER,
      {},
      { token },
    );
    expect(viewer.viewer).toMatchObject({ kind: 'MANAGEMENT_TOKEN', role: 'ADMIN', isAdmin: true, account: null });
    const customers = await api.gql('{ customers(first: 5) { edges { node { email } } } }', {}, { token });
    expect(customers.errors).toBeUndefined();
    const [row] = await api.sql<
      { token_hash: Buffer }[]
    >`select token_hash from management_tokens where id = ${created.createManagementToken.managementToken.id}::uuid`;
    expect(row?.token_hash.length).toBe(32);
  });

  test('a management token cannot mint more tokens, and a revoked one stops working', async () => {
    const admin = await api.person(api.root, 'admin');
    const created = await api.ok<{ createManagementToken: { token: string; managementToken: { id: string } } }>(
      CREATE,
      { n: 'ci' },
      { token: admin.token },
    );
    const token = created.createManagementToken.token;
    expect(codes(await api.gql(CREATE, { n: 'more' }, { token }))).toEqual(['FORBIDDEN']);
    await api.ok(
      'mutation($id: ID!) { revokeManagementToken(id: $id) { active } }',
      { id: created.createManagementToken.managementToken.id },
      { token: admin.token },
    );
    const after = await api.gql(VIEWER, {}, { token });
    expect(after.status).toBe(401);
  });

  test('customers cannot mint or list management tokens', async () => {
    const customer = await api.person(api.root);
    expect(codes(await api.gql(CREATE, { n: 'x' }, { token: customer.token }))).toEqual(['FORBIDDEN']);
    expect(
      codes(await api.gql('{ managementTokens { edges { node { id } } } }', {}, { token: customer.token })),
    ).toEqual(['FORBIDDEN']);
    expect(codes(await api.gql('{ managementTokens { edges { node { id } } } }'))).toEqual(['UNAUTHENTICATED']);
  });
});
