import { afterAll, beforeAll, expect, test } from 'bun:test';
import { insertRequests } from '../../db/queries/requests.ts';
import { startApi, type ApiHarness } from './harness.ts';
import { subscribe } from './sse.ts';

/** Subscriptions over SSE: the balance and the usage log of the signed-in account, live. */

let api: ApiHarness;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

type Balance = { balanceUpdated: { available: { usd: string } } };

test('a balance subscription sends the balance at once, then an update within a second of a publish', async () => {
  const me = await api.person(api.root);
  const live = await subscribe<Balance>(api.url, 'subscription { balanceUpdated { available { usd } } }', {
    authorization: `Bearer ${me.token}`,
  });
  try {
    expect((await live.next()).balanceUpdated.available.usd).toBe('0.00');
    await api.credit(me.account, 3_000_000_000n);
    const publishedAt = Date.now();
    api.events.publishBalanceChange(me.account.id);
    expect((await live.next(1_000)).balanceUpdated.available.usd).toBe('3.00');
    expect(Date.now() - publishedAt).toBeLessThan(1_000);
  } finally {
    live.close();
  }
});

test("an admin's adjustment reaches the customer's open subscription", async () => {
  const me = await api.person(api.root);
  const admin = await api.person(api.root, 'admin');
  const live = await subscribe<Balance>(api.url, 'subscription { balanceUpdated { available { usd } } }', {
    authorization: `Bearer ${me.token}`,
  });
  try {
    await live.next();
    await api.ok(
      'mutation($id: ID!) { adjustCredit(accountId: $id, input: { amount: { usd: "1.25" }, reason: "welcome", idempotencyKey: "w1" }) { applied } }',
      { id: me.account.id },
      { token: admin.token },
    );
    expect((await live.next(1_000)).balanceUpdated.available.usd).toBe('1.25');
  } finally {
    live.close();
  }
});

test('a usage subscription sends each settled request of the account, and nothing of other accounts', async () => {
  const me = await api.person(api.root);
  const other = await api.person(api.root);
  const live = await subscribe<{ usageRecorded: { id: string; charge: { nanos: string } } }>(
    api.url,
    'subscription { usageRecorded { id charge { nanos } } }',
    { authorization: `Bearer ${me.token}` },
  );
  try {
    const record = (id: string, accountId: string) => ({
      id,
      tenantId: api.root.id,
      accountId,
      apiKeyId: null,
      route: 'chat',
      model: 'fake/small',
      stream: false,
      statusCode: 200,
      outcome: 'completed' as const,
      errorCode: null,
      promptTokens: 1,
      completionTokens: 1,
      promptTokensBound: null,
      costNanos: 1n,
      chargeNanos: 7n,
      holdNanos: 0n,
      estimated: false,
      usageDistrusted: false,
      generationId: null,
      latencyMs: 1,
      firstByteMs: null,
    });
    await insertRequests(api.sql, [record('live-other', other.account.id), record('live-mine', me.account.id)]);
    // A settlement of another account on the same topic name must not leak into this stream.
    api.events.publishSettlement(other.account.id, 'live-other');
    api.events.publishSettlement(me.account.id, 'live-mine');
    expect((await live.next(1_000)).usageRecorded).toEqual({ id: 'live-mine', charge: { nanos: '7' } });
  } finally {
    live.close();
  }
});

test('signed out, or with a management token, a subscription is refused', async () => {
  const admin = await api.person(api.root, 'admin');
  const minted = await api.ok<{ createManagementToken: { token: string } }>(
    'mutation { createManagementToken(name: "sse") { token } }',
    {},
    { token: admin.token },
  );
  const attempt = async (headers: Record<string, string>) => {
    const response = await fetch(api.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
      body: JSON.stringify({ query: 'subscription { balanceUpdated { available { usd } } }' }),
    });
    return response.text();
  };
  const anonymous = await attempt({});
  expect(anonymous).toContain('UNAUTHENTICATED');
  expect(anonymous).not.toContain('"available"');
  const token = await attempt({ authorization: `Bearer ${minted.createManagementToken.token}` });
  expect(token).toContain('FORBIDDEN');
});
