import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { adjustWallet } from '../../db/queries/adjustments.ts';
import { tenantWalletId } from '../../db/queries/tenants.ts';
import { startStripeHarness, usd, type Money, type Person, type StripeHarness } from './harness.ts';

/**
 * Refunds and disputes take credit back in proportion to the money going back, tied to the
 * purchase; a won dispute gives it back once; deliveries in any order end in the same balances,
 * and the ledger verifies clean.
 */

let h: StripeHarness;

beforeAll(async () => {
  h = await startStripeHarness();
});
afterAll(() => h.close());

async function paidPro(): Promise<{ person: Person; sessionId: string }> {
  const person = await h.person();
  const sessionId = await h.checkout(person, 'Pro');
  expect((await h.deliver(h.fake.pay(sessionId))).body.outcome).toBe('credited');
  return { person, sessionId };
}

async function expectBalance(person: Person, expected: Money): Promise<void> {
  expect(await h.balance(person.account)).toEqual(expected);
}

async function reversals(sessionId: string) {
  return h.sql<{ kind: string; cause: string; purchase: string | null; paid: bigint; granted: bigint }[]>`
    select t.kind, t.cause, t.memo->>'purchaseTransferId' as purchase, pt.paid_nanos as paid, pt.granted_nanos as granted
    from payments p join payment_transfers pt on pt.payment_id = p.id join transfers t on t.id = pt.transfer_id
    where p.checkout_session_id = ${sessionId} and pt.kind <> 'purchase' order by t.id`;
}

describe('refunds', () => {
  test('a full refund takes back the whole pack, paid and bonus, tied to the purchase', async () => {
    const { person, sessionId } = await paidPro();
    expect((await h.deliver(h.fake.refund(sessionId, 4500))).body.outcome).toBe('refunded (1 refund)');
    await expectBalance(person, { paid: 0n, granted: 0n });
    const [purchase] = await h.sql<
      { id: bigint }[]
    >`select id from transfers where kind = 'purchase' and cause = ${sessionId}`;
    const [refund] = await reversals(sessionId);
    expect(refund).toMatchObject({
      kind: 'refund',
      purchase: String(purchase?.id),
      paid: -usd('45'),
      granted: -usd('5'),
    });
    expect(refund?.cause).toStartWith('re_');
  });

  test('partial refunds are pro rata, and refunds adding up to the charge reverse exactly the whole credit', async () => {
    const { person, sessionId } = await paidPro();
    await h.deliver(h.fake.refund(sessionId, 1000));
    // 10 of 45 dollars back: 10 of the 45 paid and 10/45 of the 5 bonus (1.111111111, rounded down).
    await expectBalance(person, { paid: usd('35'), granted: usd('5') - 1_111_111_111n });
    await h.deliver(h.fake.refund(sessionId, 3499));
    await h.deliver(h.fake.refund(sessionId, 1));
    await expectBalance(person, { paid: 0n, granted: 0n });
    expect(await reversals(sessionId)).toHaveLength(3);
  });

  test('each refund event replayed 5 times in a row and 5 times at once takes back once', async () => {
    const { person, sessionId } = await paidPro();
    const event = h.fake.refund(sessionId, 2250);
    for (let i = 0; i < 5; i++) expect((await h.deliver(event)).status).toBe(200);
    await Promise.all(Array.from({ length: 5 }, () => h.deliver({ ...event, id: `${event.id}_copy` })));
    await expectBalance(person, { paid: usd('22.50'), granted: usd('2.50') });
  });

  test('a refund arriving before its checkout.session.completed credits first, then refunds: the late completion changes nothing', async () => {
    const person = await h.person();
    const sessionId = await h.checkout(person, 'Pro');
    const completed = h.fake.pay(sessionId);
    const refunded = h.fake.refund(sessionId, 4500);
    expect((await h.deliver(refunded)).body.outcome).toBe('credited; refunded (1 refund)');
    await expectBalance(person, { paid: 0n, granted: 0n });
    expect((await h.deliver(completed)).body.outcome).toBe('already credited');
    await expectBalance(person, { paid: 0n, granted: 0n });
  });

  test('a refund of credit already spent takes the wallet below zero, explicitly and tied to the refund', async () => {
    const { person, sessionId } = await paidPro();
    const spent = await adjustWallet(h.sql, {
      walletId: person.account.walletId,
      counterWalletId: await tenantWalletId(h.sql, h.root.id, 'adjustment'),
      amountNanos: -usd('30'),
      funding: 'paid',
      cause: `spend-${sessionId}`,
      memo: { reason: 'stands for usage' },
    });
    expect(spent.status).toBe('applied');
    await h.deliver(h.fake.refund(sessionId, 4500));
    await expectBalance(person, { paid: -usd('30'), granted: 0n });
    expect(await h.violations()).toEqual([]);
  });
});

describe('disputes', () => {
  test('a lost dispute keeps the credit taken back when it opened', async () => {
    const { person, sessionId } = await paidPro();
    const { event, disputeId } = h.fake.dispute(sessionId, 4500);
    expect((await h.deliver(event)).body.outcome).toBe('dispute: credit held back');
    await expectBalance(person, { paid: 0n, granted: 0n });
    expect((await h.deliver(h.fake.closeDispute(disputeId, 'lost'))).body.outcome).toBe('dispute lost: unchanged');
    await expectBalance(person, { paid: 0n, granted: 0n });
  });

  test('a won dispute restores the credit once, however often it is delivered', async () => {
    const { person, sessionId } = await paidPro();
    const { event, disputeId } = h.fake.dispute(sessionId, 4500);
    await h.deliver(event);
    const won = h.fake.closeDispute(disputeId, 'won');
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => h.deliver({ ...won, id: `${won.id}_${i}` })));
    expect(answers.filter((a) => a.body.outcome === 'dispute: credit restored')).toHaveLength(1);
    for (let i = 0; i < 5; i++) await h.deliver(won);
    await expectBalance(person, { paid: usd('45'), granted: usd('5') });
    expect((await reversals(sessionId)).map((r) => r.kind)).toEqual(['dispute', 'dispute_won']);
  });

  test('a partial dispute takes back its share only', async () => {
    const { person, sessionId } = await paidPro();
    await h.deliver(h.fake.dispute(sessionId, 900).event);
    await expectBalance(person, { paid: usd('36'), granted: usd('4') });
  });

  test('a dispute closed as won arriving before the dispute opened, and both before the completion, converge', async () => {
    const person = await h.person();
    const sessionId = await h.checkout(person, 'Pro');
    const completed = h.fake.pay(sessionId);
    const { event: opened, disputeId } = h.fake.dispute(sessionId, 4500);
    const won = h.fake.closeDispute(disputeId, 'won');
    expect((await h.deliver(won)).body.outcome).toBe('credited; dispute: credit held back, credit restored');
    expect((await h.deliver(opened)).body.outcome).toBe('dispute needs_response: unchanged');
    expect((await h.deliver(completed)).body.outcome).toBe('already credited');
    await expectBalance(person, { paid: usd('45'), granted: usd('5') });
  });

  test('a dispute after a partial refund takes back no more than what is left', async () => {
    const { person, sessionId } = await paidPro();
    await h.deliver(h.fake.refund(sessionId, 3000));
    await h.deliver(h.fake.dispute(sessionId, 4500).event);
    await expectBalance(person, { paid: 0n, granted: 0n });
  });
});

test('a full refund and a full dispute delivered at the same moment take back the credit once, not twice (the payment row lock orders them)', async () => {
  const payments = await Promise.all(Array.from({ length: 5 }, () => paidPro()));
  await Promise.all(
    payments.flatMap(({ sessionId }) => [
      h.deliver(h.fake.refund(sessionId, 4500)),
      h.deliver(h.fake.dispute(sessionId, 4500).event),
    ]),
  );
  for (const { person } of payments) await expectBalance(person, { paid: 0n, granted: 0n });
});

test('payments history shows the purchase, its refunds and disputes, with the receipt', async () => {
  const { person, sessionId } = await paidPro();
  await h.deliver(h.fake.refund(sessionId, 900));
  const { event, disputeId } = h.fake.dispute(sessionId, 900);
  await h.deliver(event);
  await h.deliver(h.fake.closeDispute(disputeId, 'won'));
  await Bun.sleep(100);
  type History = {
    payments: {
      edges: {
        node: {
          status: string;
          receiptUrl: string | null;
          creditRemaining: { usd: string };
          changes: { kind: string; amount: { usd: string }; stripeId: string }[];
        };
      }[];
    };
  };
  const result = await h.gql<History>(
    '{ payments(first: 5) { edges { node { status receiptUrl creditRemaining { usd } changes { kind amount { usd } stripeId } } } } }',
    {},
    person.token,
  );
  const [payment] = result.data?.payments.edges ?? [];
  expect(payment?.node).toMatchObject({ status: 'PAID', creditRemaining: { usd: '40.00' } });
  expect(payment?.node.receiptUrl).toStartWith('https://pay.stripe.test/receipts/');
  expect(payment?.node.changes.map((c) => [c.kind, c.amount.usd])).toEqual([
    ['PURCHASE', '50.00'],
    ['REFUND', '-10.00'],
    ['DISPUTE', '-10.00'],
    ['DISPUTE_WON', '10.00'],
  ]);
  const other = await h.person();
  const theirs = await h.gql<History>('{ payments(first: 5) { edges { node { status } } } }', {}, other.token);
  expect(theirs.data?.payments.edges).toEqual([]);
});

test('the ledger verifies clean after refunds, disputes and out-of-order deliveries', async () => {
  expect(await h.violations()).toEqual([]);
});
