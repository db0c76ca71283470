import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createLogger } from '../../app/log.ts';
import type { Database } from '../../db/open.ts';
import { createApiKey } from '../../db/queries/api-keys.ts';
import { tenantWalletId } from '../../db/queries/tenants.ts';
import { recordTransfer } from '../../db/queries/transfers.ts';
import { startPlatform, type Platform } from '../../gateway/platform.ts';
import { eventually, PEPPER } from '../gateway/harness.ts';
import { usd, type Person } from '../stripe/harness.ts';
import { FAST_TIMING, mailTo, startOutboxHarness, THRESHOLD_SWEEP_MS, type OutboxHarness } from './harness.ts';

/**
 * Low-balance alerts: real requests through two gateway replicas spend across two thresholds while
 * the SMTP server is down; once it is back, each threshold has sent exactly one e-mail.
 */

let o: OutboxHarness;
let second: Platform;
let person: Person;
let key: string;

beforeAll(async () => {
  o = await startOutboxHarness();
  const database: Database = {
    sql: o.h.sql,
    url: o.h.databaseUrl,
    root: o.h.root,
    keyPepper: PEPPER,
    close: async () => {},
  };
  const log = createLogger('error');
  second = await startPlatform(o.h.config, database, log, {
    port: 0,
    backgroundCatalog: false,
    notifications: { timing: FAST_TIMING, thresholdSweepIntervalMs: THRESHOLD_SWEEP_MS },
  });
  await second.gateway.services.catalog.refreshFromUpstream();
  person = await o.h.person();
  await buy(usd('0.05'));
  ({ key } = await createApiKey(o.h.sql, PEPPER, { accountId: person.account.id }));
});
afterAll(async () => {
  await second.gateway.stop(5_000);
  await o.close();
});

async function buy(nanos: bigint): Promise<void> {
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

/** About 0.018 USD: 1,000 completion tokens of fake/gpt-large with the root's 20% markup. */
async function spend(gatewayUrl: string): Promise<void> {
  const response = await fetch(`${gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'fake/gpt-large',
      max_tokens: 1000,
      messages: [{ role: 'user', content: '[[fake:chunks=1000]] spend' }],
    }),
  });
  expect(response.status).toBe(200);
  await response.text();
}

const alertRows = () =>
  o.h.sql<{ status: string; attempts: number; payload: { thresholdNanos: string } }[]>`
    select status, attempts, payload from outbox where topic = 'balance_low' and account_id = ${person.account.id}::uuid
    order by id`;

const subjects = (mails: { subject: string }[]) => mails.map((m) => m.subject).sort();

const failedAttempts = async () => {
  const [row] = await o.h.sql<{ failed: number }[]>`
    select count(*)::int as failed from outbox_attempts a join outbox x on x.id = a.outbox_id
    where x.topic = 'balance_low' and not a.ok`;
  return row?.failed ?? 0;
};

const alertMails = () =>
  o.smtp.messages.filter((m) => m.to.includes(person.account.email) && m.subject.includes('balance is below'));

test('spending across two thresholds sends one e-mail per threshold, once, with two replicas and SMTP down a while', async () => {
  const set = await o.h.gql<{ setBalanceThresholds: { amount: { usd: string }; armed: boolean }[] }>(
    'mutation { setBalanceThresholds(amounts: [{ usd: "0.02" }, { usd: "0.04" }]) { amount { usd } armed } }',
    {},
    person.token,
  );
  expect(set.data?.setBalanceThresholds).toEqual([
    { amount: { usd: '0.04' }, armed: true },
    { amount: { usd: '0.02' }, armed: true },
  ]);
  await o.smtp.down();
  await spend(o.h.gateway.url);
  await spend(second.gateway.url);
  // Both alerts are written, and the worker keeps failing to reach the SMTP server.
  const failing = await eventually(alertRows, (rows) => rows.length === 2 && rows.every((r) => r.attempts >= 2));
  expect(failing.map((r) => r.status)).toEqual(['pending', 'pending']);
  // A row's attempt count rises when it is leased; its attempt is logged once the SMTP call has failed.
  await eventually(failedAttempts, (failed) => failed >= 4);
  await o.smtp.up();
  await mailTo(o.smtp, person.account.email, 2);
  await Bun.sleep(1_000);
  // Both were due while SMTP was down: their retries, with jittered back-off, decide which goes first.
  expect(subjects(alertMails())).toEqual([
    'Your Tollgate balance is below $0.02',
    'Your Tollgate balance is below $0.04',
  ]);
  expect(alertMails().find((m) => m.subject.endsWith('$0.04'))?.text).toContain('below the $0.04 alert you set');
  const rows = await alertRows();
  expect(rows.map((r) => r.status)).toEqual(['sent', 'sent']);
  const [attempts] = await o.h.sql<{ failed: number; ok: number }[]>`
    select count(*) filter (where not a.ok)::int as failed, count(*) filter (where a.ok)::int as ok
    from outbox_attempts a join outbox x on x.id = a.outbox_id where x.topic = 'balance_low'`;
  expect(attempts?.ok).toBe(2);
  expect(attempts?.failed).toBeGreaterThanOrEqual(4);
});

test('an alert re-arms when the balance goes back above it, and fires again on the next crossing', async () => {
  await buy(usd('0.03'));
  const armed = await eventually(
    async () =>
      (
        await o.h.sql<
          { armed: boolean }[]
        >`select armed from balance_thresholds where account_id = ${person.account.id}::uuid order by threshold_nanos desc`
      ).map((r) => r.armed),
    (states) => states.length === 2 && states.every(Boolean),
  );
  expect(armed).toEqual([true, true]);
  await spend(o.h.gateway.url);
  await mailTo(o.smtp, person.account.email, 3);
  await Bun.sleep(1_000);
  const mails = alertMails();
  expect(subjects(mails.slice(0, 2))).toEqual([
    'Your Tollgate balance is below $0.02',
    'Your Tollgate balance is below $0.04',
  ]);
  expect(mails.slice(2).map((m) => m.subject)).toEqual(['Your Tollgate balance is below $0.04']);
});
