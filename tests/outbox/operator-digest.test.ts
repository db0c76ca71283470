import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createLogger } from '../../app/log.ts';
import { tenantWalletId } from '../../db/queries/tenants.ts';
import { recordTransfer } from '../../db/queries/transfers.ts';
import { startOperatorDigests, type OperatorDigests } from '../../notify/digest.ts';
import { usd, type Person } from '../stripe/harness.ts';
import { mailTo, settle, startOutboxHarness, type OutboxHarness } from './harness.ts';

/**
 * The operators' daily digest of failed payments and write-offs: once per operator and day, from
 * two replicas checking at once and again later, through the outbox to a real SMTP server.
 */

let o: OutboxHarness;
let replicas: OperatorDigests[];
let admin: Person;
let operator: Person;
let customer: Person;
beforeAll(async () => {
  o = await startOutboxHarness();
  const log = createLogger('error');
  // Their own timers only look at yesterday, which had nothing; the tests ask for today.
  replicas = [startOperatorDigests(o.h.sql, log), startOperatorDigests(o.h.sql, log)];
  admin = await o.h.person('admin');
  operator = await o.h.person('operator');
  customer = await o.h.person();
});
afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await o.close();
});

const DAY_MS = 24 * 3_600_000;
/** A moment at which today (UTC) is the last finished day: tomorrow, an hour in. */
const tomorrow = () => new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS + DAY_MS + 3_600_000);
const today = () => new Date().toISOString().slice(0, 10);

async function failedPayment(person: Person, reason: string): Promise<void> {
  await o.h.sql`
    insert into payments (tenant_id, account_id, kind, description, price_nanos, credit_nanos, status, failure_reason)
    values (${person.account.tenantId}::uuid, ${person.account.id}::uuid, 'auto_top_up', 'Pro', ${usd('45').toString()}::int8,
            ${usd('45').toString()}::int8, 'failed', ${reason})`;
}

/** A write-off as settlement writes one: the uncollected book pays the revenue the wallet could not. */
async function writeOff(nanos: bigint): Promise<void> {
  await recordTransfer(o.h.sql, {
    kind: 'usage',
    cause: `req-${crypto.randomUUID()}`,
    entries: [
      { walletId: await tenantWalletId(o.h.sql, o.h.root.id, 'uncollected'), funding: 'paid', amountNanos: -nanos },
      { walletId: await tenantWalletId(o.h.sql, o.h.root.id, 'revenue'), funding: 'paid', amountNanos: nanos },
    ],
  });
}

const digestMails = () => o.smtp.messages.filter((m) => m.subject.includes('daily digest'));

test("each operator gets one digest of the day's failed payments and write-offs, whoever runs it and how often", async () => {
  await failedPayment(customer, 'Your card was declined.');
  await writeOff(usd('0.25'));
  await writeOff(usd('0.25'));
  const now = tomorrow();
  const mailed = await Promise.all(replicas.map((r) => r.run(now)));
  expect(mailed.reduce((a, b) => a + b, 0)).toBe(2);
  expect(await replicas[0]?.run(now)).toBe(0);
  const [toAdmin] = await mailTo(o.smtp, admin.account.email);
  const [toOperator] = await mailTo(o.smtp, operator.account.email);
  await settle();
  expect(digestMails()).toHaveLength(2);
  expect(o.smtp.messages.filter((m) => m.to.includes(customer.account.email))).toEqual([]);
  const subject = `Tollgate daily digest for ${today()}: 1 failed payment, $0.50 written off`;
  expect(toAdmin?.subject).toBe(subject);
  expect(toOperator?.subject).toBe(subject);
  expect(toAdmin?.text).toContain(`${customer.account.email}: Pro, $45.00 (Your card was declined.)`);
  expect(toAdmin?.text).toContain('2 requests cost more than their holds');
  const rows = await o.h.sql<{ n: number }[]>`
    select count(*)::int as n from outbox where topic = 'operator_digest'`;
  expect(rows[0]?.n).toBe(2);
});

test('a day with nothing to report mails no digest', async () => {
  const dayAfter = new Date(tomorrow().getTime() + DAY_MS);
  expect(await replicas[0]?.run(dayAfter)).toBe(0);
  await settle();
  expect(digestMails()).toHaveLength(2);
});
