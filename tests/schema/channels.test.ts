import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { codes, startApi, type ApiHarness, type Person } from './harness.ts';

/** Upstream channels in the GraphQL API: the root tenant's operators only, and never a key. */

const SECRET = 'sk-chan-graphql-0123456789abcdef0123';
const CHANNEL_FIELDS = `id name state baseUrl keyVariable keySet priority weight maxConcurrency priceSource
  models modelMap { model channelModel } prices { model promptPerMillionTokens { nanos usd } } breakers { model state }`;

let api: ApiHarness;
let operator: Person;
let admin: Person;

beforeAll(async () => {
  process.env.TG_TEST_GRAPHQL_CHANNEL_KEY = SECRET;
  api = await startApi();
  operator = await api.person(api.root, 'operator');
  admin = await api.person(api.root, 'admin');
});
afterAll(async () => {
  await api.close();
});

const CREATE = `mutation($name: String!, $input: ChannelInput!) { createChannel(name: $name, input: $input) { ${CHANNEL_FIELDS} } }`;

describe('channels in GraphQL', () => {
  test('an operator creates a channel that names its key variable; the answer shows the name, never the key', async () => {
    const result = await api.gql(
      CREATE,
      {
        name: 'backup',
        input: {
          baseUrl: 'https://backup.example.com/v1',
          keyVariable: 'TG_TEST_GRAPHQL_CHANNEL_KEY',
          priority: -5,
          modelMap: [{ model: 'gpt-4o', channelModel: 'openai/gpt-4o' }],
          priceSource: 'TABLE',
        },
      },
      { token: operator.token },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?.createChannel).toMatchObject({
      name: 'backup',
      keyVariable: 'TG_TEST_GRAPHQL_CHANNEL_KEY',
      keySet: true,
      priority: -5,
      priceSource: 'TABLE',
      modelMap: [{ model: 'gpt-4o', channelModel: 'openai/gpt-4o' }],
    });
    const listed = await api.ok<{ channels: { name: string }[] }>(
      `{ channels { ${CHANNEL_FIELDS} } }`,
      {},
      { token: operator.token },
    );
    expect(listed.channels.map((c) => c.name)).toEqual(['default', 'backup']);
    expect(JSON.stringify(listed) + JSON.stringify(result)).not.toContain(SECRET);
  });

  test('prices and settings change through mutations; null clears a cap', async () => {
    const priced = await api.ok<{ setChannelPrice: { prices: unknown[] } }>(
      `mutation { setChannelPrice(name: "backup", model: "gpt-4o", promptPerMillionTokens: "2500000000",
        completionPerMillionTokens: "10000000000") { prices { model promptPerMillionTokens { usd } } } }`,
      {},
      { token: operator.token },
    );
    expect(priced.setChannelPrice.prices).toEqual([{ model: 'gpt-4o', promptPerMillionTokens: { usd: '2.50' } }]);
    const updated = await api.ok<{ updateChannel: { state: string; weight: number; maxConcurrency: number | null } }>(
      `mutation { updateChannel(name: "backup", input: { state: DRAINING, weight: 4, maxConcurrency: null }) {
        state weight maxConcurrency } }`,
      {},
      { token: operator.token },
    );
    expect(updated.updateChannel).toEqual({ state: 'DRAINING', weight: 4, maxConcurrency: null });
  });

  test('a key pasted as the variable name is refused as invalid input, and not echoed', async () => {
    const result = await api.gql(
      CREATE,
      { name: 'leaky', input: { baseUrl: 'https://x.example.com/v1', keyVariable: SECRET } },
      { token: operator.token },
    );
    expect(codes(result)).toEqual(['INVALID_INPUT']);
    expect(JSON.stringify(result.errors)).not.toContain(SECRET);
  });

  test('a tenant admin who is not an operator can neither see nor change channels', async () => {
    expect(codes(await api.gql('{ channels { name } }', {}, { token: admin.token }))).toEqual(['FORBIDDEN']);
    const change = await api.gql(
      'mutation { updateChannel(name: "backup", input: { weight: 9 }) { name } }',
      {},
      {
        token: admin.token,
      },
    );
    expect(codes(change)).toEqual(['FORBIDDEN']);
  });
});
