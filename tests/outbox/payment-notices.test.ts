import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createLogger } from '../../app/log.ts';
import { createAutoTopUp } from '../../billing/auto-top-up.ts';
import { stripeClient } from '../../billing/stripe-client.ts';
import { adjustWallet } from '../../db/queries/adjustments.ts';
import { tenantWalletId } from '../../db/queries/tenants.ts';
import { eventually } from '../gateway/harness.ts';
import { usd } from '../stripe/harness.ts';
import { mailTo, settle, startOutboxHarness, type OutboxHarness } from './harness.ts';

/** Payment notices: a receipt for bought credit, a warning for an auto top-up that was declined. */

let o: OutboxHarness;
beforeAll(async () => {
  o = await startOutboxHarness();
});
afterAll(() => o.close());

test('a paid checkout mails one receipt with the Stripe receipt link, however often the event is delivered', async () => {
  const buyer = await o.h.person();
  const event = o.h.fake.pay(await o.h.checkout(buyer, 'Starter'));
  await o.h.deliver(event);
  await o.h.deliver(event);
  const [receipt] = await mailTo(o.smtp, buyer.account.email, 1, 15_000);
  expect(receipt?.subject).toBe('Receipt: $10.00 of Tollgate credit');
  expect(receipt?.text).toContain('Your payment of $10.00 (Starter) went through');
  expect(receipt?.text).toMatch(/View the receipt: https:\/\/pay\.stripe\.test\/receipts\/pi_/);
  await settle();
  expect(o.smtp.messages.filter((m) => m.to.includes(buyer.account.email))).toHaveLength(1);
});

test('a declined auto top-up mails the customer why', async () => {
  const settings = o.h.config.stripe;
  if (!settings) throw new Error('stripe is not configured');
  const runner = createAutoTopUp(
    { sql: o.h.sql, stripe: stripeClient(settings), log: createLogger('error') },
    { publishBalanceChange: () => {} },
  );
  const person = await o.h.person();
  await o.h.deliver(o.h.fake.pay(await o.h.checkout(person, 'Starter', true)));
  await eventually(
    async () =>
      (
        await o.h
          .sql`select 1 from stripe_customers where account_id = ${person.account.id}::uuid and payment_method_id is not null`
      ).length,
    (n) => n === 1,
  );
  await adjustWallet(o.h.sql, {
    walletId: person.account.walletId,
    counterWalletId: await tenantWalletId(o.h.sql, o.h.root.id, 'adjustment'),
    amountNanos: -usd('9'),
    funding: 'paid',
    cause: `spend-${person.account.id}`,
    memo: { reason: 'stands for usage' },
  });
  const [pack] = await o.h.sql<{ id: string }[]>`
    select id from credit_packs where tenant_id = ${o.h.root.id}::uuid and name = 'Pro'`;
  const enabled = await o.h.gql(
    'mutation($i: AutoTopUpInput!) { setAutoTopUp(input: $i) { enabled } }',
    { i: { enabled: true, threshold: { usd: '5' }, packId: pack?.id, periodHours: 24 } },
    person.token,
  );
  expect(enabled.errors).toBeUndefined();
  o.h.fake.offSession = 'decline';
  try {
    expect((await runner.attempt(person.account.id)).status).toBe('failed');
  } finally {
    o.h.fake.offSession = 'succeed';
  }
  const mails = await mailTo(o.smtp, person.account.email, 2, 15_000);
  const failed = mails.find((m) => m.subject === 'A payment to Tollgate failed');
  expect(failed?.text).toContain('Your automatic top-up of $45.00 did not go through:');
});
