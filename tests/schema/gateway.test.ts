import { afterAll, beforeAll, expect, test } from 'bun:test';
import { AuthenticationError } from 'openai';
import { createLiveEvents } from '../../schema/live-events.ts';
import { createGraphqlHandler } from '../../schema/server.ts';
import { startHarness, type Harness } from '../gateway/harness.ts';
import { PASSWORD } from './harness.ts';
import { subscribe } from './sse.ts';

/**
 * The API mounted in the real gateway the way gateway/main.ts mounts it, with settlements
 * published to the live events: a key made through GraphQL works at /v1, its usage shows up with
 * the right charge, a subscription hears the settlement, and revoking the key stops it.
 */

let h: Harness;
let graphqlUrl: string;

beforeAll(async () => {
  const events = createLiveEvents();
  h = await startHarness(
    {},
    {
      mount: (app, services) => {
        const handler = createGraphqlHandler({
          sql: services.sql,
          config: services.config,
          keyPepper: services.keyPepper,
          rootTenantId: services.rootTenantId,
          events,
        });
        app.all('/graphql', ({ request }) => handler(request));
      },
      onSettled: (job) => events.publishSettlement(job.request.accountId, job.request.id),
    },
  );
  graphqlUrl = `${h.gateway.url}/graphql`;
});
afterAll(() => h.close());

async function gql<T>(query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
  const response = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data: T; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

type Balance = { balanceUpdated: { available: { nanos: string } } };

test('a key made through GraphQL works at /v1, is billed into the aggregates and the live balance, and stops when revoked', async () => {
  const { account } = await h.customer('10');
  await h.sql`update accounts set password_hash = ${await Bun.password.hash(PASSWORD, { algorithm: 'argon2id' })} where id = ${account.id}::uuid`;
  const { signIn } = await gql<{ signIn: { token: string } }>(
    'mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }',
    { e: account.email, p: PASSWORD },
  );
  const session = signIn.token;

  const live = await subscribe<Balance>(graphqlUrl, 'subscription { balanceUpdated { available { nanos } } }', {
    authorization: `Bearer ${session}`,
  });
  const before = BigInt((await live.next()).balanceUpdated.available.nanos);
  expect(before).toBe(10_000_000_000n);

  const { createApiKey } = await gql<{ createApiKey: { key: string; apiKey: { id: string } } }>(
    'mutation { createApiKey(input: { name: "sdk" }) { key apiKey { id } } }',
    {},
    session,
  );
  const completion = await h
    .client(createApiKey.key)
    .chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'hello' }] });
  expect(completion.choices[0]?.message.content).toBeTruthy();
  const answeredAt = Date.now();

  const update = await live.next(1_000);
  expect(Date.now() - answeredAt).toBeLessThan(1_000);
  live.close();
  const after = BigInt(update.balanceUpdated.available.nanos);
  const [request] = await h.sql<
    { charge_nanos: bigint }[]
  >`select charge_nanos from requests where api_key_id = ${createApiKey.apiKey.id}::uuid`;
  expect(request?.charge_nanos).toBeGreaterThan(0n);
  expect(after).toBe(before - (request?.charge_nanos ?? 0n));

  const { usageSummary } = await gql<{
    usageSummary: { key: string; requests: number; promptTokens: string; charge: { nanos: string } }[];
  }>('{ usageSummary(groupBy: MODEL) { key requests promptTokens charge { nanos } } }', {}, session);
  expect(usageSummary).toEqual([
    {
      key: 'fake/gpt-small',
      requests: 1,
      promptTokens: String(completion.usage?.prompt_tokens),
      charge: { nanos: String(request?.charge_nanos) },
    },
  ]);

  await gql('mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: createApiKey.apiKey.id }, session);
  // The gateway caches key lookups for at most 1.5 s; after that every replica refuses the key.
  await Bun.sleep(1_600);
  const refused = await h
    .client(createApiKey.key)
    .chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'again' }] })
    .catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(AuthenticationError);
});
