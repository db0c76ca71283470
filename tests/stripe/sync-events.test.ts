import { afterAll, beforeAll, expect, test } from 'bun:test';
import { expectOneLineFailure, runCli, runCliJson } from '../cli/run-cli.ts';
import { PEPPER } from '../gateway/harness.ts';
import { FAKE_SECRET_KEY } from './fake-stripe.ts';
import { startStripeHarness, usd, WEBHOOK_SECRET, type StripeHarness } from './harness.ts';

/** `tollgate stripe sync-events`: the events the webhook never delivered are applied once, and a second run changes nothing. */

let h: StripeHarness;
let env: Record<string, string>;

beforeAll(async () => {
  h = await startStripeHarness();
  env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    DATABASE_URL: h.databaseUrl,
    TOLLGATE_KEY_PEPPER: PEPPER,
    STRIPE_SECRET_KEY: FAKE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_BASE_URL: h.fake.url,
  };
});
afterAll(() => h.close());

type Report = {
  listed: number;
  alreadyRecorded: number;
  applied: { eventId: string; type: string; outcome: string }[];
  missing: { eventId: string }[];
};

test('applies the missed events oldest first and credits once; a second run changes nothing', async () => {
  const delivered = await h.person();
  await h.deliver(h.fake.pay(await h.checkout(delivered, 'Starter')));
  const missed = await h.person();
  const missedSession = await h.checkout(missed, 'Pro');
  const completed = h.fake.pay(missedSession);
  const refunded = h.fake.refund(missedSession, 900);
  const refundedOnly = await h.person();
  const refundedSession = await h.checkout(refundedOnly, 'Enterprise');
  h.fake.pay(refundedSession);
  h.fake.refund(refundedSession, 16000);

  const dry = await runCliJson<Report>(['stripe', 'sync-events', '--dry-run'], env);
  expect(dry.missing.map((e) => e.eventId)).toContain(completed.id);
  expect(await h.balance(missed.account)).toEqual({ paid: 0n, granted: 0n });

  const first = await runCliJson<Report>(['stripe', 'sync-events'], env);
  expect(first.alreadyRecorded).toBe(1);
  expect(first.applied.map((e) => [e.eventId, e.outcome]).slice(0, 2)).toEqual([
    [completed.id, 'credited'],
    [refunded.id, 'refunded (1 refund)'],
  ]);
  expect(first.applied).toHaveLength(4);
  expect(await h.balance(missed.account)).toEqual({ paid: usd('36'), granted: usd('4') });
  expect(await h.balance(refundedOnly.account)).toEqual({ paid: 0n, granted: 0n });
  expect(await h.balance(delivered.account)).toEqual({ paid: usd('10'), granted: 0n });

  const second = await runCli(['stripe', 'sync-events'], env);
  expect(second.exitCode).toBe(0);
  expect(second.stdout).toContain('5 already recorded, 0 applied');
  expect(await h.balance(missed.account)).toEqual({ paid: usd('36'), granted: usd('4') });
  expect(await h.violations()).toEqual([]);
  const [sources] = await h.sql<
    { sync: number }[]
  >`select count(*) filter (where source = 'sync')::int as sync from stripe_events`;
  expect(sources?.sync).toBe(4);
});

test('a webhook delivery after the sync applied its event is a duplicate', async () => {
  const person = await h.person();
  const event = h.fake.pay(await h.checkout(person, 'Starter'));
  await runCliJson<Report>(['stripe', 'sync-events'], env);
  const answer = await h.deliver(event);
  expect(answer.body).toMatchObject({ duplicate: true });
  expect(await h.balance(person.account)).toEqual({ paid: usd('10'), granted: 0n });
});

test('without Stripe configured, or with a bad window, the command fails in one line', async () => {
  const { STRIPE_SECRET_KEY: _key, STRIPE_WEBHOOK_SECRET: _secret, STRIPE_API_BASE_URL: _base, ...bare } = env;
  expectOneLineFailure(await runCli(['stripe', 'sync-events'], bare), 2, /Stripe is not configured/);
  expectOneLineFailure(
    await runCli(['stripe', 'sync-events', '--hours', '9999'], env),
    2,
    /--hours must be a whole number from 1 to 720/,
  );
});
