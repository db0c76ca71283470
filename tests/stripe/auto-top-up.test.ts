import { afterAll, beforeAll, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { createAutoTopUp, type AutoTopUp } from '../../billing/auto-top-up.ts';
import { stripeClient } from '../../billing/stripe-client.ts';
import { adjustWallet } from '../../db/queries/adjustments.ts';
import { createApiKey } from '../../db/queries/api-keys.ts';
import { tenantWalletId } from '../../db/queries/tenants.ts';
import { parseUsd } from '../../core/money.ts';
import { createLogger } from '../../app/log.ts';
import { eventually, PEPPER } from '../gateway/harness.ts';
import { field } from './fake-stripe-form.ts';
import { startStripeHarness, usd, type Person, type StripeHarness } from './harness.ts';

/** Auto top-up: opt-in, a saved card charged off-session for a pack below the threshold, once per period. */

let h: StripeHarness;
let runner: AutoTopUp;

beforeAll(async () => {
  h = await startStripeHarness();
  const settings = h.config.stripe;
  if (!settings) throw new Error('stripe is not configured');
  runner = createAutoTopUp(
    { sql: h.sql, stripe: stripeClient(settings), log: createLogger('error') },
    { publishBalanceChange: () => {} },
  );
});
afterAll(() => h.close());

const SET = `mutation($i: AutoTopUpInput!) { setAutoTopUp(input: $i) { enabled threshold { usd } pack { name } periodHours savedCard } }`;

async function packId(name: string): Promise<string> {
  const [pack] = await h.sql<
    { id: string }[]
  >`select id from credit_packs where tenant_id = ${h.root.id}::uuid and name = ${name}`;
  return pack?.id ?? '';
}

/** A customer who bought Starter ($10) saving the card, then spent down to `leftUsd`. */
async function customerWithCard(leftUsd: string): Promise<Person> {
  const person = await h.person();
  await h.deliver(h.fake.pay(await h.checkout(person, 'Starter', true)));
  await eventually(
    async () =>
      (
        await h.sql`select 1 from stripe_customers where account_id = ${person.account.id}::uuid and payment_method_id is not null`
      ).length,
    (n) => n === 1,
  );
  const spent = usd('10') - (parseUsd(leftUsd) ?? 0n);
  if (spent > 0n) {
    await adjustWallet(h.sql, {
      walletId: person.account.walletId,
      counterWalletId: await tenantWalletId(h.sql, h.root.id, 'adjustment'),
      amountNanos: -spent,
      funding: 'paid',
      cause: `spend-${person.account.id}`,
      memo: { reason: 'stands for usage' },
    });
  }
  return person;
}

async function enable(person: Person, threshold = '5'): Promise<void> {
  const result = await h.gql(
    SET,
    { i: { enabled: true, threshold: { usd: threshold }, packId: await packId('Pro'), periodHours: 24 } },
    person.token,
  );
  expect(result.errors).toBeUndefined();
}

function topUpRequests(accountId: string) {
  return h.fake.requests.filter(
    (r) =>
      r.method === 'POST' &&
      r.path === '/v1/payment_intents' &&
      field(r.params, 'metadata', 'tollgate_account_id') === accountId,
  );
}

test('turning it on needs a card saved at checkout', async () => {
  const person = await h.person();
  const refused = await h.gql(
    SET,
    { i: { enabled: true, threshold: { usd: '5' }, packId: await packId('Pro') } },
    person.token,
  );
  expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT', field: 'enabled' });
  const withCard = await customerWithCard('10');
  const result = await h.gql(
    SET,
    { i: { enabled: true, threshold: { usd: '5' }, packId: await packId('Pro'), periodHours: 12 } },
    withCard.token,
  );
  expect(result.data).toEqual({
    setAutoTopUp: {
      enabled: true,
      threshold: { usd: '5.00' },
      pack: { name: 'Pro' },
      periodHours: 12,
      savedCard: true,
    },
  });
});

test('below the threshold, the saved card is charged off-session for the pack, credited once, at most once per period', async () => {
  const person = await customerWithCard('4');
  await enable(person);
  const result = await runner.attempt(person.account.id);
  expect(result.status).toBe('credited');
  expect(await h.balance(person.account)).toEqual({ paid: usd('49'), granted: usd('5') });
  const [sent] = topUpRequests(person.account.id);
  const paymentId = result.status === 'skipped' ? '' : result.payment.id;
  expect(sent?.idempotencyKey).toBe(`tollgate-top-up-${paymentId}`);
  expect([
    field(sent?.params, 'amount'),
    field(sent?.params, 'currency'),
    field(sent?.params, 'off_session'),
    field(sent?.params, 'confirm'),
  ]).toEqual(['4500', 'usd', 'true', 'true']);
  expect(field(sent?.params, 'payment_method')).toStartWith('pm_');
  expect(field(sent?.params, 'customer')).toStartWith('cus_');
  expect(field(sent?.params, 'metadata', 'tollgate_payment_id')).toBe(paymentId);

  const book = await tenantWalletId(h.sql, h.root.id, 'adjustment');
  for (const [funding, amount] of [
    ['paid', '45'],
    ['granted', '5'],
  ] as const) {
    await adjustWallet(h.sql, {
      walletId: person.account.walletId,
      counterWalletId: book,
      amountNanos: -usd(amount),
      funding,
      cause: `spend-${funding}-${person.account.id}`,
      memo: {},
    });
  }
  expect(await h.balance(person.account)).toEqual({ paid: usd('4'), granted: 0n });
  expect(await runner.attempt(person.account.id)).toEqual({
    status: 'skipped',
    reason: 'already attempted in this period',
  });
  expect(topUpRequests(person.account.id)).toHaveLength(1);

  const succeeded = h.fake.state.events.findLast((e) => e.type === 'payment_intent.succeeded');
  expect((await h.deliver(succeeded)).body.outcome).toBe('already credited');
});

test('five replicas nudging at once make one attempt', async () => {
  const person = await customerWithCard('1');
  await enable(person);
  const results = await Promise.all(Array.from({ length: 5 }, () => runner.attempt(person.account.id)));
  expect(results.filter((r) => r.status === 'credited')).toHaveLength(1);
  expect(topUpRequests(person.account.id)).toHaveLength(1);
  expect(await h.balance(person.account)).toEqual({ paid: usd('46'), granted: usd('5') });
});

test('a declined card credits nothing and shows as a failed auto top-up in the payments history', async () => {
  const person = await customerWithCard('2');
  await enable(person);
  h.fake.offSession = 'decline';
  try {
    expect((await runner.attempt(person.account.id)).status).toBe('failed');
  } finally {
    h.fake.offSession = 'succeed';
  }
  expect(await h.balance(person.account)).toEqual({ paid: usd('2'), granted: 0n });
  const history = await h.gql<{
    payments: { edges: { node: { kind: string; status: string; failureReason: string | null } }[] };
  }>('{ payments(first: 5) { edges { node { kind status failureReason } } } }', {}, person.token);
  expect(history.data?.payments.edges[0]?.node).toEqual({
    kind: 'AUTO_TOP_UP',
    status: 'FAILED',
    failureReason: 'Your card was declined.',
  });
});

test('the gateway tops up after a request settles below the threshold', async () => {
  const person = await customerWithCard('5.000001');
  await enable(person, '5');
  const { key } = await createApiKey(h.sql, PEPPER, { accountId: person.account.id });
  const client = new OpenAI({ apiKey: key, baseURL: `${h.gateway.url}/v1`, maxRetries: 0 });
  await client.chat.completions.create({
    model: 'fake/gpt-small',
    messages: [{ role: 'user', content: 'hello' }],
    max_tokens: 20,
  });
  const balance = await eventually(
    () => h.balance(person.account),
    (b) => b.granted === usd('5'),
  );
  expect(balance.granted).toBe(usd('5'));
  expect(topUpRequests(person.account.id)).toHaveLength(1);
  expect(await h.violations()).toEqual([]);
});
