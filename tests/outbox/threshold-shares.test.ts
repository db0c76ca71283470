import { afterAll, beforeAll, expect, test } from 'bun:test';
import { adjustWallet } from '../../db/queries/adjustments.ts';
import { tenantWalletId } from '../../db/queries/tenants.ts';
import { eventually } from '../gateway/harness.ts';
import { usd, type Person } from '../stripe/harness.ts';
import { mailTo, settle, startOutboxHarness, type OutboxHarness } from './harness.ts';

/**
 * Low-balance alerts set as a share of the last top-up: no amount (and no alert) before the first
 * top-up, then that share of its credit, one e-mail per crossing, following the next top-up.
 */

let o: OutboxHarness;
beforeAll(async () => {
  o = await startOutboxHarness();
});
afterAll(() => o.close());

type Alert = { amount: { usd: string } | null; shareBps: number | null; armed: boolean };
const SET = `mutation($a: [AmountInput!]!, $s: [Int!]) {
  setBalanceThresholds(amounts: $a, sharesBps: $s) { amount { usd } shareBps armed } }`;
const LIST = '{ viewer { account { balanceThresholds { amount { usd } shareBps armed } } } }';

async function alerts(person: Person): Promise<Alert[]> {
  const result = await o.h.gql<{ viewer: { account: { balanceThresholds: Alert[] } } }>(LIST, {}, person.token);
  return result.data?.viewer.account.balanceThresholds ?? [];
}

/** Stands for usage: takes paid credit off the wallet outside any request. */
async function spendOff(person: Person, amount: bigint): Promise<void> {
  await adjustWallet(o.h.sql, {
    walletId: person.account.walletId,
    counterWalletId: await tenantWalletId(o.h.sql, o.h.root.id, 'adjustment'),
    amountNanos: -amount,
    funding: 'paid',
    cause: `spend-${crypto.randomUUID()}`,
    memo: { reason: 'stands for usage' },
  });
}

const lowMails = (person: Person) =>
  o.smtp.messages.filter((m) => m.to.includes(person.account.email) && m.subject.includes('balance is below'));

test('a share alert has no amount before the first top-up, then fires once below that share of it', async () => {
  const person = await o.h.person();
  const set = await o.h.gql<{ setBalanceThresholds: Alert[] }>(SET, { a: [{ usd: '1' }], s: [5000] }, person.token);
  expect(set.errors).toBeUndefined();
  expect(set.data?.setBalanceThresholds).toEqual([
    { amount: { usd: '1.00' }, shareBps: null, armed: false },
    { amount: null, shareBps: 5000, armed: false },
  ]);
  await o.h.deliver(o.h.fake.pay(await o.h.checkout(person, 'Starter')));
  const armed = await eventually(
    () => alerts(person),
    (list) => list.every((a) => a.armed),
  );
  expect(armed).toEqual([
    { amount: { usd: '5.00' }, shareBps: 5000, armed: true },
    { amount: { usd: '1.00' }, shareBps: null, armed: true },
  ]);
  await spendOff(person, usd('6'));
  const [mail] = await eventually(
    async () => lowMails(person),
    (list) => list.length >= 1,
  );
  expect(mail?.subject).toBe('Your Tollgate balance is below $5.00');
  expect(mail?.text).toContain('Your balance is now $4.00, below the $5.00 alert you set (50% of your last top-up).');
  await settle();
  expect(lowMails(person)).toHaveLength(1);
  expect((await alerts(person)).map((a) => a.armed)).toEqual([false, true]);
});

test("a share alert follows the next top-up's amount", async () => {
  const person = await o.h.person();
  await o.h.deliver(o.h.fake.pay(await o.h.checkout(person, 'Starter')));
  await mailTo(o.smtp, person.account.email, 1, 15_000);
  const set = await o.h.gql<{ setBalanceThresholds: Alert[] }>(SET, { a: [], s: [2500] }, person.token);
  expect(set.data?.setBalanceThresholds).toEqual([{ amount: { usd: '2.50' }, shareBps: 2500, armed: true }]);
  await o.h.deliver(o.h.fake.pay(await o.h.checkout(person, 'Pro')));
  const [after] = await eventually(
    () => alerts(person),
    (list) => list[0]?.amount?.usd !== '2.50',
  );
  expect(after?.shareBps).toBe(2500);
  expect(after?.armed).toBe(true);
  expect(usd(after?.amount?.usd ?? '0')).toBeGreaterThan(usd('2.50'));
});

test('a share is between 1 and 10000 basis points', async () => {
  const person = await o.h.person();
  const refused = await o.h.gql(SET, { a: [], s: [10_001] }, person.token);
  expect(refused.errors?.[0]?.extensions).toEqual({ code: 'INVALID_INPUT', field: 'sharesBps' });
});
