import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { formatUsd } from '../../core/money.ts';
import { createApiKey } from '../../db/queries/api-keys.ts';
import { eventually, PEPPER } from '../gateway/harness.ts';
import { field } from './fake-stripe-form.ts';
import type { StripeEvent } from './fake-stripe-state.ts';
import { startStripeHarness, usd, type Person, type StripeHarness } from './harness.ts';

/**
 * Monthly plans through the real webhook route with signed events from the fake Stripe: each
 * paid invoice credits once, replays and concurrent deliveries change nothing, failed renewals
 * credit nothing and show, an ended subscription credits nothing more, rollover off removes
 * exactly the unused plan credit, and plan changes apply from the next renewal.
 */

let h: StripeHarness;
let admin: Person;
const planIds: Record<string, string> = {};

const PLAN_FIELDS = 'id name price { usd } credit { usd } bonus { usd } active';
const SUBSCRIPTION = `{ planSubscription { status cancelAtPeriodEnd paymentFailure plan { name } invoices { status credit { usd } unusedRemoved { usd } } } }`;
type Sub = {
  status: string;
  cancelAtPeriodEnd: boolean;
  paymentFailure: string | null;
  plan: { name: string };
  invoices: { status: string; credit: { usd: string }; unusedRemoved: { usd: string } }[];
};

async function createPlan(name: string, price: string, credit: string): Promise<string> {
  const result = await h.gql<{ createPlan: { id: string } }>(
    `mutation($i: PlanInput!) { createPlan(input: $i) { ${PLAN_FIELDS} } }`,
    { i: { name, price: { usd: price }, credit: { usd: credit } } },
    admin.token,
  );
  if (!result.data) throw new Error(`createPlan failed: ${JSON.stringify(result.errors)}`);
  return result.data.createPlan.id;
}

beforeAll(async () => {
  h = await startStripeHarness();
  admin = await h.person('admin');
  planIds.monthly = await createPlan('Monthly', '20', '22');
  planIds.big = await createPlan('Big', '50', '60');
});
afterAll(() => h.close());

async function subscribe(person: Person, plan = 'monthly'): Promise<{ sessionId: string }> {
  const result = await h.gql<{ subscribeToPlan: { sessionId: string; url: string } }>(
    'mutation($p: ID!) { subscribeToPlan(planId: $p) { sessionId url } }',
    { p: planIds[plan] },
    person.token,
  );
  if (!result.data) throw new Error(`subscribe failed: ${JSON.stringify(result.errors)}`);
  return result.data.subscribeToPlan;
}

/** A customer with a paid first month: the subscription id and the events delivered. */
async function subscribed(
  plan = 'monthly',
): Promise<{ person: Person; subscriptionId: string; events: StripeEvent[] }> {
  const person = await h.person();
  const { sessionId } = await subscribe(person, plan);
  const { subscriptionId, invoicePaid, completed } = h.fake.subscribe(sessionId);
  // Stripe sends the first invoice's event before the checkout's: the invoice must find the subscription alone.
  for (const event of [invoicePaid, completed]) expect((await h.deliver(event)).status).toBe(200);
  return { person, subscriptionId, events: [invoicePaid, completed] };
}

async function planCredits(person: Person): Promise<{ cause: string; amount: bigint }[]> {
  const rows = await h.sql<{ cause: string; amount: string }[]>`
    select t.cause, sum(e.amount_nanos)::text as amount from transfers t join entries e on e.transfer_id = t.id
    where t.kind = 'subscription' and e.wallet_id = ${person.account.walletId.toString()}::int8 group by t.id order by t.id`;
  return rows.map((row) => ({ cause: row.cause, amount: BigInt(row.amount) }));
}

async function subscriptionOf(person: Person): Promise<Sub | null> {
  return (await h.gql<{ planSubscription: Sub | null }>(SUBSCRIPTION, {}, person.token)).data?.planSubscription ?? null;
}

describe('plans', () => {
  test('admins create, change and archive plans; customers see the active ones and cannot manage them', async () => {
    const customer = await h.person();
    const input = { name: 'Tiny', price: { usd: '5' }, credit: { usd: '5.50' } };
    const refused = await h.gql(
      `mutation($i: PlanInput!) { createPlan(input: $i) { id } }`,
      { i: input },
      customer.token,
    );
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const id = await createPlan('Tiny', '5', '5.50');
    expect(
      (await h.gql(`mutation($i: PlanInput!) { createPlan(input: $i) { id } }`, { i: input }, admin.token)).errors?.[0]
        ?.extensions?.field,
    ).toBe('name');
    expect(
      (
        await h.gql(
          `mutation($i: PlanInput!) { createPlan(input: $i) { id } }`,
          { i: { ...input, name: 'Odd', price: { usd: '0.499' } } },
          admin.token,
        )
      ).errors?.[0]?.extensions?.field,
    ).toBe('price');
    const updated = await h.gql(
      `mutation($id: ID!, $i: PlanInput!) { updatePlan(id: $id, input: $i) { name bonus { usd } } }`,
      { id, i: { ...input, credit: { usd: '6' } } },
      admin.token,
    );
    expect(updated.data).toEqual({ updatePlan: { name: 'Tiny', bonus: { usd: '1.00' } } });
    const visible = async () =>
      (await h.gql<{ plans: { name: string }[] }>('{ plans { name } }', {}, customer.token)).data?.plans.map(
        (p) => p.name,
      );
    expect(await visible()).toEqual(['Tiny', 'Monthly', 'Big']);
    expect((await h.gql(`mutation($id: ID!) { archivePlan(id: $id) { active } }`, { id }, admin.token)).data).toEqual({
      archivePlan: { active: false },
    });
    expect(await visible()).toEqual(['Monthly', 'Big']);
    expect(
      (await h.gql('mutation($p: ID!) { subscribeToPlan(planId: $p) { url } }', { p: id }, customer.token)).errors?.[0]
        ?.extensions?.field,
    ).toBe('planId');
    // 36 characters of hex digits and dashes that are no UUID: refused like an unknown plan, not an internal error.
    const malformed = await h.gql(
      'mutation($p: ID!) { subscribeToPlan(planId: $p) { url } }',
      { p: '-'.repeat(36) },
      customer.token,
    );
    expect(malformed.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT', field: 'planId' });
  });

  test('subscribing opens Checkout in subscription mode on a monthly Stripe Price, with the subscription named in its metadata', async () => {
    const person = await h.person();
    const { sessionId } = await subscribe(person);
    const price = h.fake.requests.filter((r) => r.path === '/v1/prices').at(-1);
    expect(field(price?.params, 'unit_amount')).toBe('2000');
    expect(field(price?.params, 'recurring', 'interval')).toBe('month');
    const sent = h.fake.requests.filter((r) => r.path === '/v1/checkout/sessions').at(-1);
    expect(field(sent?.params, 'mode')).toBe('subscription');
    const [row] = await h.sql<
      { id: string }[]
    >`select id from plan_subscriptions where checkout_session_id = ${sessionId}`;
    expect(field(sent?.params, 'subscription_data', 'metadata', 'tollgate_subscription_id')).toBe(row?.id ?? 'missing');
    expect(sent?.idempotencyKey).toBe(`tollgate-plan-checkout-${row?.id}`);
    await subscribe(await h.person());
    expect(h.fake.requests.filter((r) => r.path === '/v1/prices')).toHaveLength(1);
  });
});

describe('credit per paid invoice', () => {
  test('a first invoice and two renewals credit exactly three times, and replays in sequence or at once change nothing', async () => {
    const { person, subscriptionId, events } = await subscribed();
    for (let month = 0; month < 2; month += 1) {
      const { event } = h.fake.renew(subscriptionId);
      expect((await h.deliver(event)).body).toMatchObject({ outcome: 'credited', duplicate: false });
      events.push(event);
    }
    expect(await h.balance(person.account)).toEqual({ paid: usd('60'), granted: usd('6') });
    for (const event of events) expect((await h.deliver(event)).body).toMatchObject({ duplicate: true });
    const concurrent = await Promise.all(events.flatMap((event) => Array.from({ length: 4 }, () => h.deliver(event))));
    expect(concurrent.every((answer) => answer.status === 200)).toBe(true);
    expect(await h.balance(person.account)).toEqual({ paid: usd('60'), granted: usd('6') });
    expect((await planCredits(person)).map((c) => c.amount)).toEqual([usd('22'), usd('22'), usd('22')]);
    expect(await subscriptionOf(person)).toMatchObject({
      status: 'ACTIVE',
      plan: { name: 'Monthly' },
      paymentFailure: null,
    });
    expect(await h.violations()).toEqual([]);
  });

  test('the same invoice delivered under new event ids, all at once, credits once', async () => {
    const { person, subscriptionId } = await subscribed();
    const { event } = h.fake.renew(subscriptionId);
    const copies = Array.from({ length: 6 }, (_, i) => ({ ...event, id: `${event.id}_copy${i}` }));
    const answers = await Promise.all(copies.map((copy) => h.deliver(copy)));
    expect(answers.filter((a) => a.body.outcome === 'credited')).toHaveLength(1);
    expect(await planCredits(person)).toHaveLength(2);
  });

  test('a second subscription is refused while one is live', async () => {
    const { person } = await subscribed();
    const again = await h.gql(
      'mutation($p: ID!) { subscribeToPlan(planId: $p) { url } }',
      { p: planIds.big },
      person.token,
    );
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_INPUT', field: 'planId' });
  });
});

describe('failed renewals', () => {
  test('a failed renewal credits nothing and GraphQL tells the customer; the retry that pays credits once', async () => {
    const { person, subscriptionId } = await subscribed();
    const failed = h.fake.renew(subscriptionId, { fail: true });
    expect((await h.deliver(failed.event)).body).toMatchObject({ outcome: 'payment failed: not credited' });
    expect(await h.balance(person.account)).toEqual({ paid: usd('20'), granted: usd('2') });
    const shown = await subscriptionOf(person);
    expect(shown?.status).toBe('PAST_DUE');
    expect(shown?.paymentFailure).toContain('payment for your plan failed; no credit was added');
    expect(shown?.invoices[0]).toMatchObject({ status: 'FAILED', credit: { usd: '0.00' } });
    const retried = h.fake.payInvoice(failed.invoiceId);
    expect((await h.deliver(retried)).body).toMatchObject({ outcome: 'credited' });
    expect((await h.deliver(failed.event)).body).toMatchObject({ duplicate: true });
    expect(await h.balance(person.account)).toEqual({ paid: usd('40'), granted: usd('4') });
    expect(await subscriptionOf(person)).toMatchObject({ status: 'ACTIVE', paymentFailure: null });
  });
});

describe('cancellation', () => {
  test('cancelling asks Stripe to end at the period end; once ended, a later paid invoice credits nothing', async () => {
    const { person, subscriptionId } = await subscribed();
    const cancelled = await h.gql<{ cancelPlan: { cancelAtPeriodEnd: boolean } }>(
      'mutation { cancelPlan { cancelAtPeriodEnd } }',
      {},
      person.token,
    );
    expect(cancelled.data?.cancelPlan.cancelAtPeriodEnd).toBe(true);
    expect(h.fake.plans.subscriptions.get(subscriptionId)?.cancel_at_period_end).toBe(true);
    const updated = h.fake.state.events.findLast(
      (e) => e.type === 'customer.subscription.updated' && e.data.object.id === subscriptionId,
    );
    expect((await h.deliver(updated)).body).toMatchObject({ outcome: 'subscription updated' });
    const ended = h.fake.endSubscription(subscriptionId);
    expect((await h.deliver(ended)).body).toMatchObject({ outcome: 'subscription ended' });
    const late = h.fake.renew(subscriptionId);
    expect((await h.deliver(late.event)).body).toMatchObject({ outcome: 'subscription ended: not credited' });
    expect(await h.balance(person.account)).toEqual({ paid: usd('20'), granted: usd('2') });
    expect((await subscriptionOf(person))?.status).toBe('CANCELED');
    expect((await h.deliver(updated)).status).toBe(200);
    expect((await subscriptionOf(person))?.status).toBe('CANCELED');
    await subscribe(person);
  });
});

describe('changing plan', () => {
  test('changePlan moves the Stripe subscription without proration; the next renewal charges and credits the new plan', async () => {
    const { person, subscriptionId } = await subscribed();
    const changed = await h.gql<{ changePlan: { plan: { name: string } } }>(
      'mutation($p: ID!) { changePlan(planId: $p) { plan { name } } }',
      { p: planIds.big },
      person.token,
    );
    expect(changed.data?.changePlan.plan.name).toBe('Big');
    const update = h.fake.requests
      .filter((r) => r.method === 'POST' && r.path === `/v1/subscriptions/${subscriptionId}`)
      .at(-1);
    expect(field(update?.params, 'proration_behavior')).toBe('none');
    expect(await h.balance(person.account)).toEqual({ paid: usd('20'), granted: usd('2') });
    expect((await h.deliver(h.fake.renew(subscriptionId).event)).body).toMatchObject({ outcome: 'credited' });
    expect(await h.balance(person.account)).toEqual({ paid: usd('70'), granted: usd('12') });
  });
});

describe('rollover off', () => {
  test('a renewal removes exactly the unused plan credit, never pack credit, and the ledger stays clean', async () => {
    expect((await h.gql('mutation { setPlanCreditRollover(rollover: false) }', {}, admin.token)).data).toEqual({
      setPlanCreditRollover: false,
    });
    const { person, subscriptionId } = await subscribed();
    expect((await h.deliver(h.fake.pay(await h.checkout(person, 'Starter')))).body).toMatchObject({
      outcome: 'credited',
    });
    const { key } = await createApiKey(h.sql, PEPPER, { accountId: person.account.id });
    const client = new OpenAI({ apiKey: key, baseURL: `${h.gateway.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({
      model: 'fake/gpt-small',
      messages: [{ role: 'user', content: 'hello' }],
      max_tokens: 20,
    });
    const spent = await eventually(
      async () =>
        (
          await h.sql<
            { spent: string }[]
          >`select coalesce(-sum(amount_nanos), 0)::text as spent from entries e join transfers t on t.id = e.transfer_id where t.kind = 'usage' and e.wallet_id = ${person.account.walletId.toString()}::int8`
        )[0]?.spent ?? '0',
      (value) => value !== '0',
    );
    const usage = BigInt(spent);
    const before = await h.balance(person.account);
    expect(before.paid + before.granted).toBe(usd('32') - usage);
    const renewal = h.fake.renew(subscriptionId);
    expect((await h.deliver(renewal.event)).body).toMatchObject({ outcome: 'credited; unused plan credit removed' });
    const credits = await planCredits(person);
    expect(credits.at(-2)).toEqual({ cause: `${renewal.invoiceId}:unused`, amount: -(usd('22') - usage) });
    const after = await h.balance(person.account);
    expect(after.paid + after.granted).toBe(usd('10') + usd('22'));
    expect((await subscriptionOf(person))?.invoices[0]?.unusedRemoved.usd).toBe(formatUsd(usd('22') - usage));
    expect((await h.deliver(renewal.event)).body).toMatchObject({ duplicate: true });
    expect(await h.violations()).toEqual([]);
    await h.gql('mutation { setPlanCreditRollover(rollover: true) }', {}, admin.token);
  });

  test('the removal never takes more than the available balance, so no balance goes below zero', async () => {
    await h.gql('mutation { setPlanCreditRollover(rollover: false) }', {}, admin.token);
    const { person, subscriptionId } = await subscribed();
    const taken = await h.gql(
      'mutation($a: ID!) { adjustCredit(accountId: $a, input: { amount: { usd: "-17" }, reason: "test", idempotencyKey: "take-17", funding: PAID }) { applied } }',
      { a: person.account.id },
      admin.token,
    );
    expect(taken.data).toEqual({ adjustCredit: { applied: true } });
    const renewal = h.fake.renew(subscriptionId);
    expect((await h.deliver(renewal.event)).body).toMatchObject({ outcome: 'credited; unused plan credit removed' });
    expect((await planCredits(person)).at(-2)).toEqual({ cause: `${renewal.invoiceId}:unused`, amount: -usd('5') });
    expect(await h.balance(person.account)).toEqual({ paid: usd('20'), granted: usd('2') });
    expect(await h.violations()).toEqual([]);
    await h.gql('mutation { setPlanCreditRollover(rollover: true) }', {}, admin.token);
  });

  test('with nothing spent, a renewal replaces the whole unused month: the balance stays one month of credit', async () => {
    await h.gql('mutation { setPlanCreditRollover(rollover: false) }', {}, admin.token);
    const { person, subscriptionId } = await subscribed();
    const renewal = h.fake.renew(subscriptionId);
    expect((await h.deliver(renewal.event)).body).toMatchObject({ outcome: 'credited; unused plan credit removed' });
    expect(await h.balance(person.account)).toEqual({ paid: usd('20'), granted: usd('2') });
    await h.gql('mutation { setPlanCreditRollover(rollover: true) }', {}, admin.token);
  });
});
