import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { MAX_COST, MAX_DEPTH, MAX_TOKENS } from '../../schema/protection.ts';
import { codes, startApi, type ApiHarness, type Person } from './harness.ts';

/** Limits and hardening: depth, cost, size, batching, introspection, suggestions, masked errors. */

let api: ApiHarness;
let admin: Person;
beforeAll(async () => {
  api = await startApi();
  admin = await api.person(api.root, 'admin');
});
afterAll(() => api.close());

describe('query limits', () => {
  test('an over-deep query is refused before it runs, with a clear error', async () => {
    let selection = 'id';
    for (let i = 0; i < MAX_DEPTH; i++) selection = `f${i} { ${selection} }`;
    const result = await api.gql(`{ viewer { ${selection} } }`, {}, { token: admin.token });
    const deep = result.errors?.find((e) => e.extensions?.code === 'QUERY_TOO_DEEP');
    expect(deep?.message).toBe(`Query is too deep: depth ${MAX_DEPTH + 2} exceeds the limit of ${MAX_DEPTH}.`);
    expect(result.data).toBeNull();
  });

  test('an over-costly query (pages inside pages) is refused with its estimated cost', async () => {
    const result = await api.gql(
      '{ customers(first: 100) { edges { node { apiKeys(first: 100) { edges { node { id name } } } } } } }',
      {},
      { token: admin.token },
    );
    expect(codes(result)).toEqual(['QUERY_TOO_COSTLY']);
    expect(result.errors?.[0]?.message).toMatch(
      new RegExp(`^Query is too costly: estimated cost \\d+ exceeds the limit of ${MAX_COST}\\.`),
    );
  });

  test('repeating a field under many aliases costs as much as it is', async () => {
    const aliases = Array.from({ length: 300 }, (_, i) => `m${i}: models { id }`).join(' ');
    expect(codes(await api.gql(`{ ${aliases} }`))).toEqual(['QUERY_TOO_COSTLY']);
  });

  test('a page size given by a variable is costed at the largest page', async () => {
    const query =
      'query($n: Int) { customers(first: $n) { edges { node { apiKeys(first: 20) { edges { node { id name } } } } } } }';
    expect(codes(await api.gql(query, { n: 1 }, { token: admin.token }))).toEqual(['QUERY_TOO_COSTLY']);
  });

  test('ordinary pages of the portal are well inside the limits', async () => {
    const query = `{ usage(first: 100) { edges { node { id accountId apiKeyId route model stream statusCode outcome errorCode promptTokens completionTokens
      charge { nanos usd } estimated latencyMs createdAt tenantRevenue { usd } tenantCost { usd } } } pageInfo { hasNextPage endCursor } } }`;
    expect((await api.gql(query, {}, { token: admin.token })).errors).toBeUndefined();
  });

  test('a document above the token cap is refused by the parser', async () => {
    const fields = Array.from({ length: MAX_TOKENS }, () => '__typename').join(' ');
    const result = await api.gql(`{ ${fields} }`);
    expect(result.errors?.[0]?.message).toContain(`${MAX_TOKENS} tokens`);
  });

  test('batched requests are refused', async () => {
    const response = await fetch(api.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ tenant { slug } }' }, { query: '{ tenant { slug } }' }]),
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
  });
});

describe('errors', () => {
  test('an internal failure is masked: no SQL, no stack, one generic message', async () => {
    // A column the query needs goes missing for a moment: a real SQL failure, not a refused input.
    await api.sql`alter table requests rename column model to model_gone`;
    const result = await api
      .gql(
        'query($m: String) { usage(filter: { model: $m }) { edges { cursor } } }',
        { m: 'x' },
        { token: admin.token },
      )
      .finally(() => api.sql`alter table requests rename column model_gone to model`);
    expect(result.errors?.[0]?.message).toBe('Unexpected error.');
    expect(JSON.stringify(result)).not.toMatch(/does not exist|model_gone|postgres|stack/i);
  });

  test('broken JSON in the variables of a GET query is a 400 BAD_REQUEST, not a masked 500', async () => {
    const response = await fetch(`${api.url}?query=${encodeURIComponent('{ __typename }')}&variables=%7Bbroken`);
    const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    expect(response.status).toBe(400);
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });

  test('outside production, introspection works and misspellings get suggestions', async () => {
    const introspection = await api.gql<{ __schema: { queryType: { name: string } } }>(
      '{ __schema { queryType { name } } }',
    );
    expect(introspection.data?.__schema.queryType.name).toBe('Query');
    const typo = await api.gql('{ tenantt { slug } }');
    expect(typo.errors?.[0]?.message).toContain('Did you mean');
  });

  test('in production, introspection is off and misspellings get no suggestions', async () => {
    const production = await startApi({ NODE_ENV: 'production' });
    try {
      const introspection = await production.gql('{ __schema { queryType { name } } }');
      expect(introspection.errors?.[0]?.message).toContain('introspection');
      const typo = await production.gql('{ tenantt { slug } }');
      expect(typo.errors?.[0]?.message).toBe('Cannot query field "tenantt" on type "Query".');
    } finally {
      await production.close();
    }
  });
});
