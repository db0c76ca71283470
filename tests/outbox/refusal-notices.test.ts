import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createLogger } from '../../app/log.ts';
import { createApiKey } from '../../db/queries/api-keys.ts';
import { upsertPolicy } from '../../db/queries/rate-limit-policies.ts';
import { tenantWalletId } from '../../db/queries/tenants.ts';
import { recordTransfer } from '../../db/queries/transfers.ts';
import type { Sql, TransactionSql } from '../../db/sql.ts';
import { createRefusalNotices, type Refusal } from '../../notify/refusals.ts';
import { verifySignature } from '../../notify/webhook-signature.ts';
import { eventually, PEPPER } from '../gateway/harness.ts';
import { usd, type Person } from '../stripe/harness.ts';
import { mailTo, settle, startOutboxHarness, type OutboxHarness } from './harness.ts';
import { startReceiver, type Receiver } from './receiver.ts';

/**
 * Notices of refused requests: a client hammering 402 or a spending limit gets one webhook event
 * or e-mail per period, not one per refusal, and the refusals themselves answer as before.
 */

let o: OutboxHarness;
let receiver: Receiver;
beforeAll(async () => {
  o = await startOutboxHarness({ TOLLGATE_OUTBOUND_ALLOW_PRIVATE: 'on' });
  receiver = startReceiver();
});
afterAll(async () => {
  await o.close();
  await receiver.close();
});

const HAMMER = 25;

async function buy(person: Person, nanos: bigint): Promise<void> {
  const clearing = await tenantWalletId(o.h.sql, o.h.root.id, 'clearing');
  await recordTransfer(o.h.sql, {
    kind: 'purchase',
    cause: `test-${crypto.randomUUID()}`,
    entries: [
      { walletId: person.account.walletId, funding: 'paid', amountNanos: nanos },
      { walletId: clearing, funding: 'paid', amountNanos: -nanos },
    ],
  });
}

/** About 0.018 USD when affordable: 1,000 completion tokens of fake/gpt-large with the root's markup. */
async function call(key: string): Promise<number> {
  const response = await fetch(`${o.h.gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'fake/gpt-large',
      max_tokens: 1000,
      messages: [{ role: 'user', content: '[[fake:chunks=1000]] spend' }],
    }),
  });
  await response.text();
  return response.status;
}

async function hammer(key: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < HAMMER; i++) statuses.push(await call(key));
  return statuses;
}

async function endpoint(person: Person, path: string): Promise<string> {
  const result = await o.h.gql<{ createWebhookEndpoint: { secret: string } }>(
    'mutation($u: String!) { createWebhookEndpoint(url: $u, events: ["request.refused_credit"]) { secret } }',
    { u: `${receiver.url}${path}` },
    person.token,
  );
  if (!result.data) throw new Error(`endpoint not created: ${JSON.stringify(result.errors)}`);
  return result.data.createWebhookEndpoint.secret;
}

const limitMails = (person: Person) =>
  o.smtp.messages.filter((m) => m.to.includes(person.account.email) && m.subject.includes('spending limit'));

const outboxRows = (person: Person, topic: string) =>
  o.h.sql<{ n: number }[]>`
    select count(*)::int as n from outbox where account_id = ${person.account.id}::uuid and topic = ${topic}`.then(
    (rows) => rows[0]?.n ?? 0,
  );

test('a client hammering 402 makes one signed request.refused_credit event per account and hour', async () => {
  const person = await o.h.person();
  const secret = await endpoint(person, '/refused');
  const { key } = await createApiKey(o.h.sql, PEPPER, { accountId: person.account.id });
  expect(new Set(await hammer(key))).toEqual(new Set([402]));
  const [delivery] = await eventually(
    async () => receiver.received.filter((r) => r.path === '/refused'),
    (list) => list.length >= 1,
  );
  await settle();
  expect(receiver.received.filter((r) => r.path === '/refused')).toHaveLength(1);
  expect(await outboxRows(person, 'request.refused_credit')).toBe(1);
  expect(verifySignature(delivery?.headers.get('tollgate-signature') ?? '', delivery?.body ?? '', secret)).toBe(true);
  const body = JSON.parse(delivery?.body ?? '{}');
  expect(body).toMatchObject({
    type: 'request.refused_credit',
    data: { accountId: person.account.id, reason: 'insufficient_credit', periodSeconds: 3600 },
  });
  expect(body.data.periodStart).toMatch(/^\d{4}-\d\d-\d\dT\d\d:00:00\.000Z$/);
  expect(limitMails(person)).toEqual([]);
});

test("a key's credit cap refusing mails one spending-limit notice, however often it refuses", async () => {
  const person = await o.h.person();
  await buy(person, usd('1'));
  const { key } = await createApiKey(o.h.sql, PEPPER, {
    accountId: person.account.id,
    name: 'batch job',
    creditCapNanos: 1n,
  });
  expect(new Set(await hammer(key))).toEqual(new Set([402]));
  const [mail] = await eventually(
    async () => limitMails(person),
    (list) => list.length >= 1,
  );
  await settle();
  expect(limitMails(person)).toHaveLength(1);
  expect(mail?.subject).toBe('A spending limit on your Tollgate account was reached');
  expect(mail?.text).toContain(
    'Your API key "batch job" has less of its $0.000000001 credit limit left than a request needs.',
  );
  expect(await outboxRows(person, 'spend_limit_reached')).toBe(1);
});

test("an account's daily spending limit mails once for the day, not once per refused request", async () => {
  const person = await o.h.person();
  await buy(person, usd('1'));
  await upsertPolicy(
    o.h.sql,
    { kind: 'account', id: person.account.id },
    {
      requestsPerMinute: null,
      requestsPerHour: null,
      tokensPerMinute: null,
      concurrentRequests: null,
      spendPerDayNanos: usd('0.01'),
      spendPerMonthNanos: null,
    },
  );
  const { key } = await createApiKey(o.h.sql, PEPPER, { accountId: person.account.id });
  expect(await call(key)).toBe(200);
  await eventually(
    () => call(key),
    (status) => status === 429,
  );
  expect(new Set(await hammer(key))).toEqual(new Set([429]));
  const [mail] = await mailTo(o.smtp, person.account.email);
  await settle();
  expect(limitMails(person)).toHaveLength(1);
  expect(mail?.text).toContain('Your account reached its spending limit of $0.01 per UTC day');
  expect(mail?.text).toContain('Requests are refused until 00:00 UTC.');
});

test('a replica writes a refusal its notices once per period, however often it is told, with few writes at once', async () => {
  let transactions = 0;
  let open = 0;
  let mostOpen = 0;
  // The real database, counting the transactions the notices open.
  const counting = {
    begin: async (work: (tx: TransactionSql) => Promise<unknown>) => {
      transactions += 1;
      open += 1;
      mostOpen = Math.max(mostOpen, open);
      try {
        return await o.h.sql.begin(work);
      } finally {
        open -= 1;
      }
    },
  } as unknown as Sql;
  const notices = createRefusalNotices(counting, createLogger('error'));
  const person = await o.h.person();
  const refusal = (accountId: string): Refusal => ({
    kind: 'credit',
    accountId,
    keyId: crypto.randomUUID(),
    keyName: 'k',
    requestId: crypto.randomUUID(),
    reason: 'insufficient_credit',
    neededNanos: 1n,
    capNanos: null,
  });
  for (let i = 0; i < 500; i++) notices.refused(refusal(person.account.id));
  await notices.stop();
  expect(transactions).toBe(1);
  const burst = createRefusalNotices(counting, createLogger('error'));
  const others = await Promise.all(Array.from({ length: 30 }, () => o.h.person()));
  for (const other of others) burst.refused(refusal(other.account.id));
  await burst.stop();
  expect(mostOpen).toBeLessThanOrEqual(8);
  expect(transactions).toBeLessThanOrEqual(1 + 8);
});
