import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { now } from './fake-stripe-state.ts';
import {
  PREVIOUS_WEBHOOK_SECRET,
  signedHeader,
  startStripeHarness,
  usd,
  WEBHOOK_SECRET,
  type Person,
  type StripeHarness,
} from './harness.ts';

/** The webhook: signatures, exactly-once credit under replays and concurrency, and the payment's lifecycle. */

let h: StripeHarness;

beforeAll(async () => {
  h = await startStripeHarness();
});
afterAll(() => h.close());

async function transfers(): Promise<number> {
  const [row] = await h.sql<{ n: number }[]>`select count(*)::int as n from transfers`;
  return row?.n ?? 0;
}

async function paymentOf(sessionId: string) {
  const [row] = await h.sql<{ status: string; receipt_url: string | null; failure_reason: string | null }[]>`
    select status, receipt_url, failure_reason from payments where checkout_session_id = ${sessionId}`;
  return row;
}

async function bought(pack = 'Pro', saveCard = false): Promise<{ person: Person; sessionId: string }> {
  const person = await h.person();
  return { person, sessionId: await h.checkout(person, pack, saveCard) };
}

describe('signatures', () => {
  test('a wrong secret, a tampered body, a stale timestamp or no header is a 400 that changes nothing and leaks no secret', async () => {
    const { person, sessionId } = await bought();
    const event = h.fake.pay(sessionId);
    const payload = JSON.stringify(event);
    const before = await transfers();
    const cases = [
      { options: { secret: 'whsec_notTheRightSecret0123456789abcdef' }, code: 'invalid_signature' },
      {
        options: {
          payload: payload.replace('"amount_total":4500', '"amount_total":450000'),
          header: await signedHeader(payload),
        },
        code: 'invalid_signature',
      },
      { options: { timestamp: now() - 301 }, code: 'stale_signature' },
      { options: { header: null }, code: 'missing_signature' },
      { options: { header: 't=1,v1=deadbeef' }, code: 'invalid_signature' },
    ];
    for (const { options, code } of cases) {
      const answer = await h.deliver(event, options);
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ error: { code, type: 'invalid_request_error', param: null } });
      expect(answer.text).not.toContain('whsec_');
    }
    expect(await transfers()).toBe(before);
    expect(await h.balance(person.account)).toEqual({ paid: 0n, granted: 0n });
    const [recorded] = await h.sql`select 1 from stripe_events where id = ${event.id}`;
    expect(recorded).toBeUndefined();
    const logs = h.logs.join('\n');
    for (const secret of [WEBHOOK_SECRET, PREVIOUS_WEBHOOK_SECRET, h.config.stripe?.secretKey ?? 'missing'])
      expect(logs).not.toContain(secret);
    expect(logs).toContain('"reason":"stale_signature"');
  });

  test('an event signed with the previous secret is accepted while rotating', async () => {
    const { person, sessionId } = await bought('Starter');
    const answer = await h.deliver(h.fake.pay(sessionId), { secret: PREVIOUS_WEBHOOK_SECRET });
    expect(answer.status).toBe(200);
    expect(await h.balance(person.account)).toEqual({ paid: usd('10'), granted: 0n });
  });
});

describe('exactly-once credit', () => {
  test('a paid session credits its pack once (paid up to the price, the bonus granted) and shows its receipt', async () => {
    const { person, sessionId } = await bought('Pro');
    const answer = await h.deliver(h.fake.pay(sessionId));
    expect(answer).toMatchObject({ status: 200, body: { received: true, duplicate: false, outcome: 'credited' } });
    expect(await h.balance(person.account)).toEqual({ paid: usd('45'), granted: usd('5') });
    const [transfer] = await h.sql<
      { kind: string; cause: string }[]
    >`select kind, cause from transfers where cause = ${sessionId}`;
    expect(transfer).toEqual({ kind: 'purchase', cause: sessionId });
    await Bun.sleep(100);
    expect((await paymentOf(sessionId))?.receipt_url).toStartWith('https://pay.stripe.test/receipts/pi_');
  });

  test("a credit is announced to the account's live subscribers", async () => {
    const { person, sessionId } = await bought('Starter');
    const heard = h.events.subscribe(person.account.id)[Symbol.asyncIterator]().next();
    await h.deliver(h.fake.pay(sessionId));
    const activity = await Promise.race([heard, Bun.sleep(2_000).then(() => undefined)]);
    expect(activity?.value).toEqual({ accountId: person.account.id, requestId: null });
  });

  test('the same event replayed 5 times in a row credits once', async () => {
    const { person, sessionId } = await bought('Enterprise');
    const event = h.fake.pay(sessionId);
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await h.deliver(event));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers.map((a) => a.body.duplicate)).toEqual([false, true, true, true, true]);
    expect(await h.balance(person.account)).toEqual({ paid: usd('160'), granted: usd('40') });
  });

  test('the same event delivered 5 times at once credits once', async () => {
    const { person, sessionId } = await bought('Pro');
    const event = h.fake.pay(sessionId);
    const answers = await Promise.all(Array.from({ length: 5 }, () => h.deliver(event)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers.filter((a) => a.body.duplicate === false)).toHaveLength(1);
    expect(await h.balance(person.account)).toEqual({ paid: usd('45'), granted: usd('5') });
  });

  test('five different events for one session, delivered at once, credit once: the session is the key, not the event', async () => {
    const { person, sessionId } = await bought('Pro');
    const first = h.fake.pay(sessionId);
    const events = Array.from({ length: 5 }, (_, i) => ({
      ...first,
      id: `${first.id}_${i}`,
      type: i % 2 === 0 ? 'checkout.session.completed' : 'checkout.session.async_payment_succeeded',
    }));
    const answers = await Promise.all(events.map((event) => h.deliver(event)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers.filter((a) => a.body.outcome === 'credited')).toHaveLength(1);
    expect(await h.balance(person.account)).toEqual({ paid: usd('45'), granted: usd('5') });
    const [recorded] = await h.sql<
      { n: number }[]
    >`select count(*)::int as n from stripe_events where id like ${`${first.id}_%`}`;
    expect(recorded?.n).toBe(5);
  });

  test('an amount paid below the price is not credited and is left for review', async () => {
    const { person, sessionId } = await bought('Pro');
    const answer = await h.deliver(h.fake.pay(sessionId, { amountTotal: 4000 }));
    expect(answer.body.outcome).toBe('amount mismatch: not credited');
    expect(await h.balance(person.account)).toEqual({ paid: 0n, granted: 0n });
    expect(await paymentOf(sessionId)).toMatchObject({ status: 'mismatch' });
  });

  test('a session of another application on the same Stripe account is recorded and ignored', async () => {
    const event = {
      id: 'evt_foreign_1',
      object: 'event',
      type: 'checkout.session.completed',
      created: now(),
      data: {
        object: {
          id: 'cs_foreign',
          object: 'checkout.session',
          mode: 'payment',
          payment_status: 'paid',
          amount_total: 100,
          currency: 'usd',
          metadata: {},
        },
      },
    };
    const answer = await h.deliver(event);
    expect(answer).toMatchObject({ status: 200, body: { outcome: 'not a Tollgate payment: ignored' } });
    const [row] = await h.sql<{ outcome: string }[]>`select outcome from stripe_events where id = 'evt_foreign_1'`;
    expect(row?.outcome).toBe('not a Tollgate payment: ignored');
  });
});

describe('asynchronous payments and abandoned checkouts', () => {
  test('an unpaid completed session waits; async success credits once, even when it arrives twice', async () => {
    const { person, sessionId } = await bought('Starter');
    const unpaid = h.fake.pay(sessionId, { asynchronous: true });
    expect((await h.deliver(unpaid)).body.outcome).toBe('awaiting asynchronous payment');
    expect(await paymentOf(sessionId)).toMatchObject({ status: 'processing' });
    expect(await h.balance(person.account)).toEqual({ paid: 0n, granted: 0n });
    const succeeded = h.fake.settleAsync(sessionId, true);
    expect((await h.deliver(succeeded)).body.outcome).toBe('credited');
    expect((await h.deliver({ ...succeeded, id: `${succeeded.id}_again` })).body.outcome).toBe('already credited');
    expect((await h.deliver({ ...unpaid, id: `${unpaid.id}_late_copy` })).body.outcome).toBe('already credited');
    expect(await paymentOf(sessionId)).toMatchObject({ status: 'paid' });
    expect(await h.balance(person.account)).toEqual({ paid: usd('10'), granted: 0n });
  });

  test('an async failure credits nothing and marks the payment failed', async () => {
    const { person, sessionId } = await bought('Starter');
    await h.deliver(h.fake.pay(sessionId, { asynchronous: true }));
    expect((await h.deliver(h.fake.settleAsync(sessionId, false))).body.outcome).toBe('payment failed');
    expect(await paymentOf(sessionId)).toMatchObject({ status: 'failed' });
    expect(await h.balance(person.account)).toEqual({ paid: 0n, granted: 0n });
  });

  test('an expired session marks the payment expired', async () => {
    const { sessionId } = await bought('Starter');
    expect((await h.deliver(h.fake.expire(sessionId))).status).toBe(200);
    expect(await paymentOf(sessionId)).toMatchObject({ status: 'expired' });
  });

  test('an event type Tollgate does not handle is answered 200 and recorded', async () => {
    const answer = await h.deliver({
      id: 'evt_other_type',
      object: 'event',
      type: 'customer.created',
      created: now(),
      data: { object: { id: 'cus_1', object: 'customer' } },
    });
    expect(answer).toMatchObject({ status: 200, body: { outcome: 'event type not handled: ignored' } });
  });
});

test('the ledger verifies clean after all of it', async () => {
  expect(await h.violations()).toEqual([]);
});
