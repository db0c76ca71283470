import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createApiKey } from '../../db/queries/api-keys.ts';
import { codes, PASSWORD, PEPPER, startApi, type ApiHarness, type CallOptions } from './harness.ts';

/**
 * Tenant isolation: people of tenant B (a customer, an admin, a management token) and the
 * operator of the parent tenant ask for, change and delete every kind of tenant A object by id.
 * Every attempt answers NOT_FOUND or FORBIDDEN, and the database is byte-for-byte unchanged.
 */

let api: ApiHarness;
const ids = {
  account: '',
  key: '',
  rule: '',
  policyAccount: '',
  policyKey: '',
  policyTenant: '',
  token: '',
  child: '',
};
const attackers: Record<string, CallOptions> = {};
let ownerAdmin: CallOptions;

async function snapshot(): Promise<string> {
  const [state] = await api.sql<{ state: unknown }[]>`
    select json_build_object(
      'accounts', (select json_agg(a order by a.id) from accounts a),
      'api_keys', (select json_agg(k order by k.id) from api_keys k),
      'wallets', (select json_agg(w order by w.id) from wallets w),
      'transfers', (select count(*) from transfers),
      'pricing_rules', (select json_agg(p order by p.id) from pricing_rules p),
      'policies', (select json_agg(p order by p.id) from rate_limit_policies p),
      -- last_used_at moves when the attacker's own token is used, which is not a change to tenant A.
      'tokens', (select json_agg(to_jsonb(t) - 'last_used_at' order by t.id) from management_tokens t),
      'tenants', (select json_agg(t order by t.id) from tenants t)
    ) as state`;
  return JSON.stringify(state?.state);
}

beforeAll(async () => {
  api = await startApi();
  const tenantA = await api.tenant('tenant-a');
  const tenantB = await api.tenant('tenant-b');
  const adminA = await api.person(tenantA, 'admin');
  ownerAdmin = { token: adminA.token };
  const customerA = await api.person(tenantA);
  ids.account = customerA.account.id;
  ids.key = (await createApiKey(api.sql, PEPPER, { accountId: customerA.account.id, name: 'a-key' })).apiKey.id;
  const rule = await api.ok<{ setPricingRule: { id: string } }>(
    'mutation { setPricingRule(pattern: "fake/*", markupBps: 100) { id } }',
    {},
    ownerAdmin,
  );
  ids.rule = rule.setPricingRule.id;
  const SET =
    'mutation($k: PolicySubjectKind!, $id: ID) { setRateLimitPolicy(subjectKind: $k, subjectId: $id, limits: { requestsPerMinute: 5 }) { id } }';
  ids.policyAccount = (
    await api.ok<{ setRateLimitPolicy: { id: string } }>(SET, { k: 'ACCOUNT', id: ids.account }, ownerAdmin)
  ).setRateLimitPolicy.id;
  ids.policyKey = (
    await api.ok<{ setRateLimitPolicy: { id: string } }>(SET, { k: 'API_KEY', id: ids.key }, ownerAdmin)
  ).setRateLimitPolicy.id;
  ids.policyTenant = (
    await api.ok<{ setRateLimitPolicy: { id: string } }>(SET, { k: 'TENANT' }, ownerAdmin)
  ).setRateLimitPolicy.id;
  ids.token = (
    await api.ok<{ createManagementToken: { managementToken: { id: string } } }>(
      'mutation { createManagementToken(name: "a") { managementToken { id } } }',
      {},
      ownerAdmin,
    )
  ).createManagementToken.managementToken.id;
  const child = await api.ok<{ createChildTenant: { tenant: { id: string } } }>(
    'mutation($p: String!) { createChildTenant(input: { slug: "tenant-a-sub", name: "A sub", markupBps: 100, adminEmail: "sub@a.example", adminPassword: $p }) { tenant { id } } }',
    { p: PASSWORD },
    ownerAdmin,
  );
  ids.child = child.createChildTenant.tenant.id;
  await api.credit(customerA.account, 1_000_000_000n);

  const adminB = await api.person(tenantB, 'admin');
  const minted = await api.ok<{ createManagementToken: { token: string } }>(
    'mutation { createManagementToken(name: "b") { token } }',
    {},
    { token: adminB.token },
  );
  attackers['customer of B'] = { token: (await api.person(tenantB)).token };
  attackers['admin of B'] = { token: adminB.token };
  attackers['management token of B'] = { token: minted.createManagementToken.token };
  attackers['operator of the parent tenant'] = { token: (await api.person(api.root, 'operator')).token };
});
afterAll(() => api.close());

const adjust = '{ amount: { usd: "100" }, reason: "steal", idempotencyKey: "iso" }';
const reads: [string, string][] = [
  ['an API key', 'query($id: ID!) { apiKey(id: $id) { id name } }'],
  ['an account', 'query($id: ID!) { customer(id: $id) { id email } }'],
  ["an account's usage", 'query($id: ID!) { usage(filter: { accountId: $id }) { edges { cursor } } }'],
  ["an account's ledger", 'query($id: ID!) { ledgerEntries(accountId: $id) { edges { cursor } } }'],
  ['a child tenant', 'query($id: ID!) { childTenant(id: $id) { id wholesaleBalance { available { usd } } } }'],
];
const writes: [string, string, keyof typeof ids][] = [
  [
    'update an API key',
    'mutation($id: ID!) { updateApiKey(id: $id, input: { name: "pwned", creditCap: null }) { id } }',
    'key',
  ],
  ['revoke an API key', 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }', 'key'],
  ['create a key for an account', 'mutation($id: ID) { createApiKey(accountId: $id) { key } }', 'account'],
  ['suspend an account', 'mutation($id: ID!) { setCustomerStatus(id: $id, status: SUSPENDED) { id } }', 'account'],
  ['adjust an account', `mutation($id: ID!) { adjustCredit(accountId: $id, input: ${adjust}) { applied } }`, 'account'],
  [
    'limit an account',
    'mutation($id: ID) { setRateLimitPolicy(subjectKind: ACCOUNT, subjectId: $id, limits: { requestsPerMinute: 1 }) { id } }',
    'account',
  ],
  [
    'limit an API key',
    'mutation($id: ID) { setRateLimitPolicy(subjectKind: API_KEY, subjectId: $id, limits: { requestsPerMinute: 1 }) { id } }',
    'key',
  ],
  ['delete a pricing rule', 'mutation($id: ID!) { deletePricingRule(id: $id) }', 'rule'],
  ["delete an account's policy", 'mutation($id: ID!) { deleteRateLimitPolicy(id: $id) }', 'policyAccount'],
  ["delete a key's policy", 'mutation($id: ID!) { deleteRateLimitPolicy(id: $id) }', 'policyKey'],
  ["delete the tenant's policy", 'mutation($id: ID!) { deleteRateLimitPolicy(id: $id) }', 'policyTenant'],
  ['revoke a management token', 'mutation($id: ID!) { revokeManagementToken(id: $id) { id } }', 'token'],
  ['suspend a child tenant', 'mutation($id: ID!) { setChildTenantStatus(id: $id, status: SUSPENDED) { id } }', 'child'],
  [
    'credit a child tenant',
    `mutation($id: ID!) { adjustWholesaleCredit(childTenantId: $id, input: ${adjust}) { applied } }`,
    'child',
  ],
];
const readIds: Record<string, keyof typeof ids> = {
  'an API key': 'key',
  'an account': 'account',
  "an account's usage": 'account',
  "an account's ledger": 'account',
  'a child tenant': 'child',
};

describe('tenant isolation', () => {
  test("the owner's admin can read each object (so the refusals below are not vacuous)", async () => {
    for (const [what, query] of reads.filter(([w]) => w !== 'a child tenant')) {
      const result = await api.gql(query, { id: ids[readIds[what] ?? 'account'] }, ownerAdmin);
      expect({ what, errors: result.errors }).toEqual({ what, errors: undefined });
    }
  });

  test('no one outside tenant A can read, change or delete any of its objects, and nothing changes', async () => {
    const before = await snapshot();
    const seen: string[] = [];
    for (const [attacker, options] of Object.entries(attackers)) {
      for (const [what, query] of reads) {
        const result = await api.gql(query, { id: ids[readIds[what] ?? 'account'] }, options);
        seen.push(`${attacker} reads ${what}: ${codes(result).join(',')}`);
        expect({
          attacker,
          what,
          refused: codes(result).every((c) => c === 'NOT_FOUND' || c === 'FORBIDDEN') && codes(result).length > 0,
        }).toEqual({ attacker, what, refused: true });
        expect(JSON.stringify(result.data ?? {})).not.toContain(ids[readIds[what] ?? 'account']);
      }
      for (const [what, query, id] of writes) {
        const result = await api.gql(query, { id: ids[id] }, options);
        seen.push(`${attacker} tries to ${what}: ${codes(result).join(',')}`);
        expect({
          attacker,
          what,
          refused: codes(result).every((c) => c === 'NOT_FOUND' || c === 'FORBIDDEN') && codes(result).length > 0,
        }).toEqual({ attacker, what, refused: true });
      }
    }
    expect(seen).toHaveLength(Object.keys(attackers).length * (reads.length + writes.length));
    expect(await snapshot()).toBe(before);
  });

  test('a key id from another tenant in a usage filter yields nothing rather than its requests', async () => {
    const result = await api.gql<{ usage: { edges: unknown[] } }>(
      'query($id: ID!) { usage(filter: { apiKeyId: $id }) { edges { cursor } } }',
      { id: ids.key },
      attackers['admin of B'],
    );
    expect(result.data?.usage.edges).toEqual([]);
  });

  test('malformed ids are simply not found', async () => {
    const result = await api.gql(
      'query($id: ID!) { apiKey(id: $id) { id } }',
      { id: "1' or '1'='1" },
      attackers['admin of B'],
    );
    expect(codes(result)).toEqual(['NOT_FOUND']);
  });
});
