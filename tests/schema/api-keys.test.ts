import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { codes, startApi, type ApiHarness } from './harness.ts';

let api: ApiHarness;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

const CREATE = `mutation($accountId: ID, $input: ApiKeyInput) {
  createApiKey(accountId: $accountId, input: $input) { key apiKey { id accountId publicId name active creditCap { nanos usd } allowedModels expiresAt } }
}`;
type Created = {
  createApiKey: {
    key: string;
    apiKey: {
      id: string;
      accountId: string;
      publicId: string;
      name: string;
      active: boolean;
      creditCap: { nanos: string; usd: string } | null;
      allowedModels: string[] | null;
    };
  };
};

describe('API keys as a customer', () => {
  test('creating a key returns the secret once; only its hash is stored', async () => {
    const me = await api.person(api.root);
    const created = await api.ok<Created>(
      CREATE,
      { input: { name: 'laptop', creditCap: { usd: '5' }, allowedModels: ['openai/*'] } },
      { token: me.token },
    );
    const { key, apiKey } = created.createApiKey;
    expect(key).toMatch(/^tg-[0-9A-Za-z]{28}$/);
    expect(key.startsWith(apiKey.publicId)).toBe(true);
    expect(apiKey).toMatchObject({
      accountId: me.account.id,
      name: 'laptop',
      active: true,
      creditCap: { nanos: '5000000000', usd: '5.00' },
      allowedModels: ['openai/*'],
    });
    const listed = await api.ok<{ viewer: { account: { apiKeys: { edges: { node: Record<string, unknown> }[] } } } }>(
      '{ viewer { account { apiKeys { edges { node { id publicId name } } } } } }',
      {},
      { token: me.token },
    );
    expect(listed.viewer.account.apiKeys.edges.map((e) => e.node)).toEqual([
      { id: apiKey.id, publicId: apiKey.publicId, name: 'laptop' },
    ]);
    expect(JSON.stringify(listed)).not.toContain(key);
    const [row] = await api.sql<{ hash: Buffer }[]>`select hash from api_keys where id = ${apiKey.id}::uuid`;
    expect(row?.hash.length).toBe(32);
    expect(row?.hash.toString('utf8')).not.toContain(key.slice(3));
  });

  test('a key is renamed, its limits changed and cleared, then revoked', async () => {
    const me = await api.person(api.root);
    const { createApiKey } = await api.ok<Created>(CREATE, { input: { name: 'old' } }, { token: me.token });
    const UPDATE =
      'mutation($id: ID!, $input: ApiKeyInput!) { updateApiKey(id: $id, input: $input) { name creditCap { usd } allowedModels expiresAt } }';
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const updated = await api.ok<{ updateApiKey: Record<string, unknown> }>(
      UPDATE,
      {
        id: createApiKey.apiKey.id,
        input: { name: 'new', creditCap: { nanos: '250000000' }, allowedModels: ['fake/*'], expiresAt },
      },
      { token: me.token },
    );
    expect(updated.updateApiKey).toEqual({
      name: 'new',
      creditCap: { usd: '0.25' },
      allowedModels: ['fake/*'],
      expiresAt,
    });
    const cleared = await api.ok<{ updateApiKey: Record<string, unknown> }>(
      UPDATE,
      { id: createApiKey.apiKey.id, input: { creditCap: null, allowedModels: null } },
      { token: me.token },
    );
    expect(cleared.updateApiKey).toEqual({ name: 'new', creditCap: null, allowedModels: null, expiresAt });
    const revoked = await api.ok<{ revokeApiKey: { active: boolean; revokedAt: string } }>(
      'mutation($id: ID!) { revokeApiKey(id: $id) { active revokedAt } }',
      { id: createApiKey.apiKey.id },
      { token: me.token },
    );
    expect(revoked.revokeApiKey.active).toBe(false);
    const active = await api.ok<{ viewer: { account: { apiKeys: { edges: unknown[] } } } }>(
      '{ viewer { account { apiKeys { edges { cursor } } } } }',
      {},
      { token: me.token },
    );
    expect(active.viewer.account.apiKeys.edges).toHaveLength(0);
  });

  test('invalid settings are refused on the field that is wrong', async () => {
    const me = await api.person(api.root);
    const past = await api.gql(CREATE, { input: { expiresAt: '2001-01-01T00:00:00Z' } }, { token: me.token });
    expect(past.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT', field: 'expiresAt' });
    const both = await api.gql(CREATE, { input: { creditCap: { nanos: '1', usd: '1' } } }, { token: me.token });
    expect(both.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT', field: 'creditCap' });
    const negative = await api.gql(CREATE, { input: { creditCap: { usd: '-1' } } }, { token: me.token });
    expect(codes(negative)).toEqual(['INVALID_INPUT']);
  });

  test('a customer cannot create keys for another account of the same tenant', async () => {
    const me = await api.person(api.root);
    const neighbour = await api.person(api.root);
    expect(codes(await api.gql(CREATE, { accountId: neighbour.account.id }, { token: me.token }))).toEqual([
      'NOT_FOUND',
    ]);
    const { createApiKey } = await api.ok<Created>(CREATE, {}, { token: neighbour.token });
    expect(
      codes(
        await api.gql(
          'mutation($id: ID!) { revokeApiKey(id: $id) { id } }',
          { id: createApiKey.apiKey.id },
          { token: me.token },
        ),
      ),
    ).toEqual(['NOT_FOUND']);
    const [row] = await api.sql<
      { revoked_at: Date | null }[]
    >`select revoked_at from api_keys where id = ${createApiKey.apiKey.id}::uuid`;
    expect(row?.revoked_at).toBeNull();
  });

  test('signed out, nothing about keys is reachable', async () => {
    expect(codes(await api.gql(CREATE, {}))).toEqual(['UNAUTHENTICATED']);
  });
});

describe('API keys as an admin', () => {
  test("an admin creates, lists and revokes keys of the tenant's customers", async () => {
    const admin = await api.person(api.root, 'admin');
    const customer = await api.person(api.root);
    const created = await api.ok<Created>(
      CREATE,
      { accountId: customer.account.id, input: { name: 'for customer' } },
      { token: admin.token },
    );
    expect(created.createApiKey.apiKey.accountId).toBe(customer.account.id);
    const seen = await api.ok<{ customer: { apiKeys: { edges: { node: { id: string } }[] } } }>(
      'query($id: ID!) { customer(id: $id) { apiKeys { edges { node { id } } } } }',
      { id: customer.account.id },
      { token: admin.token },
    );
    expect(seen.customer.apiKeys.edges.map((e) => e.node.id)).toEqual([created.createApiKey.apiKey.id]);
    await api.ok(
      'mutation($id: ID!) { revokeApiKey(id: $id) { id } }',
      { id: created.createApiKey.apiKey.id },
      { token: admin.token },
    );
    const one = await api.ok<{ apiKey: { active: boolean } }>(
      'query($id: ID!) { apiKey(id: $id) { active } }',
      { id: created.createApiKey.apiKey.id },
      { token: customer.token },
    );
    expect(one.apiKey.active).toBe(false);
  });

  test('a management token must name the account a key is for', async () => {
    const admin = await api.person(api.root, 'admin');
    const minted = await api.ok<{ createManagementToken: { token: string } }>(
      'mutation { createManagementToken(name: "int") { token } }',
      {},
      { token: admin.token },
    );
    const result = await api.gql(CREATE, {}, { token: minted.createManagementToken.token });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT', field: 'accountId' });
  });

  test('key lists page with cursors, newest first, without gaps or repeats', async () => {
    const me = await api.person(api.root);
    for (let i = 0; i < 5; i++) await api.ok(CREATE, { input: { name: `k${i}` } }, { token: me.token });
    const PAGE =
      'query($after: String) { viewer { account { apiKeys(first: 2, after: $after) { edges { cursor node { name } } pageInfo { hasNextPage endCursor } } } } }';
    type Page = {
      viewer: {
        account: {
          apiKeys: { edges: { node: { name: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
        };
      };
    };
    const names: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 5; i++) {
      const page: Page = await api.ok<Page>(PAGE, { after }, { token: me.token });
      names.push(...page.viewer.account.apiKeys.edges.map((e) => e.node.name));
      if (!page.viewer.account.apiKeys.pageInfo.hasNextPage) break;
      after = page.viewer.account.apiKeys.pageInfo.endCursor;
    }
    expect(names).toEqual(['k4', 'k3', 'k2', 'k1', 'k0']);
    const bad = await api.gql(PAGE, { after: 'not-a-cursor' }, { token: me.token });
    expect(codes(bad)).toEqual(['INVALID_INPUT']);
  });
});
