import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startApi, type ApiHarness, type GqlResult, type Person } from './harness.ts';

/**
 * Inputs at the edges of their types: amounts beyond what the ledger's 64-bit columns hold, text
 * that PostgreSQL cannot store (a NUL byte), dates outside the calendar it keeps. Each is a typed
 * INVALID_INPUT naming the field, never the masked "Unexpected error.".
 */

let api: ApiHarness;
let admin: Person;
let customer: Person;

beforeAll(async () => {
  api = await startApi();
  admin = await api.person(api.root, 'admin');
  customer = await api.person(api.root, 'customer');
});
afterAll(() => api.close());

function invalid(result: GqlResult, field: string): void {
  expect(result.errors?.map((e) => e.message)).not.toContain('Unexpected error.');
  expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT', field });
}

const ADJUST = 'mutation($id: ID!, $i: AdjustmentInput!) { adjustCredit(accountId: $id, input: $i) { applied } }';
const adjust = (amount: Record<string, string>) =>
  api.gql(
    ADJUST,
    { id: customer.account.id, i: { amount, reason: 'edge', idempotencyKey: crypto.randomUUID() } },
    { token: admin.token },
  );

describe('money inputs', () => {
  test('an adjustment beyond the 64-bit range is refused naming the amount', async () => {
    invalid(await adjust({ nanos: '99999999999999999999' }), 'input.amount.nanos');
    invalid(await adjust({ nanos: '-99999999999999999999' }), 'input.amount.nanos');
    invalid(await adjust({ usd: '99999999999999' }), 'amount');
    invalid(await adjust({ usd: '-9'.padEnd(5000, '9') }), 'amount');
  });

  test('an adjustment within int8 but above the largest single amount is refused naming the amount', async () => {
    invalid(await adjust({ nanos: '9223372036854775807' }), 'amount');
  });

  test('a credit cap beyond range is refused naming the credit cap', async () => {
    const result = await api.gql(
      'mutation($i: ApiKeyInput) { createApiKey(input: $i) { key } }',
      { i: { creditCap: { usd: '10000000000000' } } },
      { token: customer.token },
    );
    invalid(result, 'creditCap');
  });

  test('a Nanos literal beyond 64 bits is refused as invalid input, not an internal error', async () => {
    const result = await api.gql(
      `mutation($id: ID!) { adjustCredit(accountId: $id, input: { amount: { nanos: "${'9'.repeat(25)}" }, reason: "x", idempotencyKey: "lit" }) { applied } }`,
      { id: customer.account.id },
      { token: admin.token },
    );
    invalid(result, 'input.amount.nanos');
  });
});

describe('text inputs', () => {
  test('a NUL byte in a name is refused naming the field, in a variable or a literal', async () => {
    invalid(
      await api.gql(
        'mutation($n: String) { updateTenant(name: $n) { name } }',
        { n: 'Acme\u0000' },
        { token: admin.token },
      ),
      'name',
    );
    invalid(
      await api.gql('mutation { updateTenant(name: "Acme\\u0000") { name } }', {}, { token: admin.token }),
      'name',
    );
    invalid(
      await api.gql(
        'mutation($i: ApiKeyInput) { createApiKey(input: $i) { key } }',
        { i: { name: 'laptop\u0000' } },
        { token: customer.token },
      ),
      'input.name',
    );
  });

  test('other control characters in a tenant name are refused', async () => {
    invalid(
      await api.gql(
        'mutation($n: String) { updateTenant(name: $n) { name } }',
        { n: 'Acme\u0007' },
        { token: admin.token },
      ),
      'name',
    );
  });
});

describe('date inputs', () => {
  const USAGE = 'query($f: UsageFilter) { usage(filter: $f) { edges { node { id } } } }';

  test('a year-0 date in the usage filter is refused naming the field', async () => {
    invalid(await api.gql(USAGE, { f: { from: '0000-01-01T00:00:00Z' } }, { token: customer.token }), 'filter.from');
  });

  test('a date past year 9999 or before 1970 is refused', async () => {
    invalid(await api.gql(USAGE, { f: { to: '+275760-09-13T00:00:00Z' } }, { token: customer.token }), 'filter.to');
    invalid(await api.gql(USAGE, { f: { from: '1969-12-31T23:59:59Z' } }, { token: customer.token }), 'filter.from');
  });

  test('a date in range still filters', async () => {
    const result = await api.gql(USAGE, { f: { from: '2020-01-01T00:00:00Z' } }, { token: customer.token });
    expect(result.errors).toBeUndefined();
  });
});
