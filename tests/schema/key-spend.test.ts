import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { parseUsd } from '../../core/money.ts';
import { verifyLedger } from '../../db/queries/ledger-verify.ts';
import { createSession } from '../../db/queries/sessions.ts';
import { createLiveEvents } from '../../schema/live-events.ts';
import { createGraphqlHandler } from '../../schema/server.ts';
import { startHarness, type Harness } from '../gateway/harness.ts';

/**
 * One figure for a key's spend (issue 18.10, 21.4): GraphQL `apiKeys { spent }` (what the portal's
 * keys page shows), `/v1/key` and the usage log agree, for keys with and without a credit cap.
 */

const SESSION_TTL_SECONDS = 3_600;

let h: Harness;
let graphqlUrl: string;

beforeAll(async () => {
  h = await startHarness(
    {},
    {
      mount: (app, services) => {
        const handler = createGraphqlHandler({
          sql: services.sql,
          config: services.config,
          keyPepper: services.keyPepper,
          rootTenantId: services.rootTenantId,
          events: createLiveEvents(),
        });
        app.all('/graphql', ({ request }) => handler(request));
      },
    },
  );
  graphqlUrl = `${h.gateway.url}/graphql`;
});
afterAll(() => h.close());

async function gql<T>(query: string, variables: Record<string, unknown>, token: string): Promise<T> {
  const response = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data: T; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** A signed-in session for the account, as signIn makes it (without the password hashing, which is slow here). */
async function signIn(accountId: string): Promise<string> {
  return (await createSession(h.sql, accountId, SESSION_TTL_SECONDS)).token;
}

async function chat(key: string): Promise<void> {
  await h.client(key).chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'hi' }] });
}

async function loggedCharges(keyId: string): Promise<bigint> {
  const [row] = await h.sql<{ charged: bigint }[]>`
    select coalesce(sum(charge_nanos), 0)::int8 as charged from requests where api_key_id = ${keyId}::uuid`;
  return row?.charged ?? -1n;
}

type V1Key = { usage: string; limit: string | null; limit_remaining: string | null };
async function v1Key(key: string): Promise<V1Key> {
  const response = await fetch(`${h.gateway.url}/v1/key`, { headers: { authorization: `Bearer ${key}` } });
  return ((await response.json()) as { data: V1Key }).data;
}

type Listed = { viewer: { account: { apiKeys: { edges: { node: { id: string; spent: { nanos: string } } }[] } } } };
async function graphqlSpent(token: string, keyId: string): Promise<bigint> {
  const listed = await gql<Listed>(
    '{ viewer { account { apiKeys { edges { node { id spent { nanos } } } } } } }',
    {},
    token,
  );
  return BigInt(listed.viewer.account.apiKeys.edges.find((e) => e.node.id === keyId)?.node.spent.nanos ?? '-1');
}

describe("a key's spend", () => {
  test('reads the same in GraphQL, at /v1/key and in the usage log for a key without a credit cap', async () => {
    const { account, key, keyId } = await h.customer('10');
    const token = await signIn(account.id);
    await chat(key);
    await chat(key);
    const info = await v1Key(key);
    const logged = await loggedCharges(keyId);
    expect(logged).toBeGreaterThan(0n);
    expect(parseUsd(info.usage)).toBe(logged);
    expect(await graphqlSpent(token, keyId)).toBe(logged);
    const single = await gql<{ apiKey: { spent: { nanos: string } } }>(
      'query($id: ID!) { apiKey(id: $id) { spent { nanos } } }',
      { id: keyId },
      token,
    );
    expect(BigInt(single.apiKey.spent.nanos)).toBe(logged);
  });

  test('keeps counting what the key spent before when a credit cap is set, and the cap bounds all of it', async () => {
    const { account, key, keyId } = await h.customer('10');
    const token = await signIn(account.id);
    await chat(key);
    // /v1/key answers once this replica has written the key's settlements.
    const before = parseUsd((await v1Key(key)).usage) ?? -1n;
    expect(before).toBeGreaterThan(0n);
    expect(await loggedCharges(keyId)).toBe(before);
    const updated = await gql<{ updateApiKey: { spent: { nanos: string }; creditCap: { usd: string } } }>(
      'mutation($id: ID!) { updateApiKey(id: $id, input: { creditCap: { usd: "0.01" } }) { spent { nanos } creditCap { usd } } }',
      { id: keyId },
      token,
    );
    expect(BigInt(updated.updateApiKey.spent.nanos)).toBe(before);
    // The gateway caches the key for up to 1.5 s; after that it holds against the cap.
    await Bun.sleep(1_600);
    await chat(key);
    const info = await v1Key(key);
    const after = await loggedCharges(keyId);
    expect(after).toBeGreaterThan(before);
    expect(parseUsd(info.usage)).toBe(after);
    expect(parseUsd(info.limit_remaining ?? '')).toBe(10_000_000n - after);
    expect(await graphqlSpent(token, keyId)).toBe(after);
    expect((await verifyLedger(h.sql)).violations).toEqual([]);
  });
});
