import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { createApiKey } from '../../db/queries/api-keys.ts';
import {
  deleteTenantPolicy,
  upsertPolicy,
  type PolicyLimits,
  type PolicySubjectRef,
} from '../../db/queries/rate-limit-policies.ts';
import { createMemoryLimitStore, spendPeriodAt, type SpendPeriod } from '../../limits/store.ts';
import { eventually, PEPPER, startHarness, type Harness } from './harness.ts';

/**
 * Spending limits with the in-process store, on a clock the test moves: each request costs the
 * same charge `c` (same prompt, same answer), so the limits are set in multiples of it.
 */

const NO_LIMITS: PolicyLimits = {
  requestsPerMinute: null,
  requestsPerHour: null,
  tokensPerMinute: null,
  concurrentRequests: null,
  spendPerDayNanos: null,
  spendPerMonthNanos: null,
};
const PROMPT = 'what does this cost? [[fake:chunks=4]]';
/** Large enough never to refuse: used to read a spend counter through the store's own check. */
const NO_CAP = 1n << 62n;

let h: Harness;
let clock = Date.UTC(2025, 0, 31, 23, 59, 0);
const store = createMemoryLimitStore(() => clock);
let c = 0n;

async function ask(key: string): Promise<{ status: number; headers: Headers; message: string }> {
  try {
    const answer = await h
      .client(key)
      .chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: PROMPT }] })
      .withResponse();
    return { status: answer.response.status, headers: answer.response.headers, message: '' };
  } catch (error) {
    if (!(error instanceof OpenAI.APIError)) throw error;
    return { status: error.status ?? -1, headers: error.headers ?? new Headers(), message: error.message };
  }
}

const spent = async (key: string, period: SpendPeriod = 'day') =>
  (await store.consume([], [{ key, period, limitNanos: NO_CAP }])).spends[0]?.spentNanos ?? -1n;
const spentReaches = (key: string, nanos: bigint, period: SpendPeriod = 'day') =>
  eventually(
    () => spent(key, period),
    (value) => value === nanos,
  );

async function limited(subject: PolicySubjectRef, limits: Partial<PolicyLimits>): Promise<void> {
  await upsertPolicy(h.sql, subject, { ...NO_LIMITS, ...limits });
}

beforeAll(async () => {
  h = await startHarness({}, { limits: store, listen: false });
  const probe = await h.customer('1.00');
  const answer = await h
    .client(probe.key)
    .chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: PROMPT }] })
    .withResponse();
  const id = answer.response.headers.get('x-request-id') ?? '';
  const rows = await eventually(
    () => h.sql<{ charge_nanos: bigint }[]>`select charge_nanos from requests where id = ${id}`,
    (r) => r.length === 1,
  );
  c = rows[0]?.charge_nanos ?? 0n;
});
afterAll(async () => {
  store.stop();
  await h.close();
});

describe('spending limits (in-process store)', () => {
  test('admits while the day spend is below the limit and refuses once it reaches it exactly, until 00:00 UTC', async () => {
    expect(c).toBeGreaterThan(0n);
    clock = Date.UTC(2025, 0, 31, 23, 59, 0);
    const { key, keyId } = await h.customer('1.00');
    await limited({ kind: 'apiKey', id: keyId }, { spendPerDayNanos: 2n * c });
    expect((await ask(key)).status).toBe(200);
    await spentReaches(`key:${keyId}`, c);
    expect((await ask(key)).status).toBe(200);
    expect(await spentReaches(`key:${keyId}`, 2n * c)).toBe(2n * c);
    const refused = await ask(key);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(refused.headers.get('x-should-retry')).toBe('false');
    expect(refused.message).toContain('Spending limit reached for this key');
    expect(refused.message).toContain('per UTC day');
    clock = Date.UTC(2025, 1, 1, 0, 0, 0);
    expect((await ask(key)).status).toBe(200);
  });

  test('one nano-dollar of room left is enough to admit a request', async () => {
    clock = Date.UTC(2025, 0, 10, 12, 0, 0);
    const { key, keyId } = await h.customer('1.00');
    await limited({ kind: 'apiKey', id: keyId }, { spendPerDayNanos: 2n * c + 1n });
    for (let i = 1n; i <= 2n; i++) {
      expect((await ask(key)).status).toBe(200);
      await spentReaches(`key:${keyId}`, i * c);
    }
    expect((await ask(key)).status).toBe(200);
    await spentReaches(`key:${keyId}`, 3n * c);
    expect((await ask(key)).status).toBe(429);
  });

  test('an account month limit is shared by its keys and lifts on the first day of the next month', async () => {
    clock = Date.UTC(2025, 0, 15, 12, 0, 0);
    const first = await h.customer('1.00');
    const other = await createApiKey(h.sql, PEPPER, { accountId: first.account.id });
    await limited({ kind: 'account', id: first.account.id }, { spendPerMonthNanos: c });
    expect((await ask(first.key)).status).toBe(200);
    await spentReaches(`account:${first.account.id}`, c, 'month');
    const refused = await ask(other.key);
    expect(refused.status).toBe(429);
    expect(refused.message).toContain('Spending limit reached for this account');
    expect(Number(refused.headers.get('retry-after'))).toBe((Date.UTC(2025, 1, 1) - clock) / 1000);
    clock = Date.UTC(2025, 1, 1, 0, 0, 1);
    expect((await ask(other.key)).status).toBe(200);
  });

  test('a request the upstream fails before any output adds nothing to the spend', async () => {
    clock = Date.UTC(2025, 0, 20, 12, 0, 0);
    const { key, keyId } = await h.customer('1.00');
    await limited({ kind: 'apiKey', id: keyId }, { spendPerDayNanos: c });
    const failed = await h
      .client(key)
      .chat.completions.create({
        model: 'fake/gpt-small',
        messages: [{ role: 'user', content: 'x [[fake:status=500]]' }],
      })
      .then(
        () => 200,
        (e: unknown) => (e instanceof OpenAI.APIError ? e.status : -1),
      );
    expect(failed).toBeGreaterThanOrEqual(500);
    await eventually(
      () => h.sql`select 1 from requests where api_key_id = ${keyId}`,
      (rows) => rows.length === 1,
    );
    await Bun.sleep(50);
    expect(await spent(`key:${keyId}`)).toBe(0n);
    expect((await ask(key)).status).toBe(200);
  });

  test("a whole-tenant day limit counts every customer's spend", async () => {
    clock = Date.UTC(2025, 0, 25, 12, 0, 0);
    const a = await h.customer('1.00');
    const b = await h.customer('1.00');
    await limited({ kind: 'wholeTenant', id: h.rootTenantId }, { spendPerDayNanos: c });
    try {
      expect((await ask(a.key)).status).toBe(200);
      await spentReaches(`tenant:${h.rootTenantId}`, c);
      const refused = await ask(b.key);
      expect(refused.status).toBe(429);
      expect(refused.message).toContain('Spending limit reached for this tenant');
    } finally {
      const [policy] = await h.sql<
        { id: string }[]
      >`select id from rate_limit_policies where whole_tenant_id = ${h.rootTenantId}::uuid`;
      await deleteTenantPolicy(h.sql, h.rootTenantId, policy?.id ?? '');
    }
  });
});

describe('UTC spending periods', () => {
  test('a day ends at midnight UTC and a month on the first of the next, leap years and year ends included', () => {
    expect(spendPeriodAt('day', Date.UTC(2025, 0, 31, 23, 59, 59, 999)).endsAt).toBe(Date.UTC(2025, 1, 1));
    expect(spendPeriodAt('month', Date.UTC(2024, 1, 29, 12)).endsAt).toBe(Date.UTC(2024, 2, 1));
    expect(spendPeriodAt('month', Date.UTC(2024, 11, 31, 23, 59)).endsAt).toBe(Date.UTC(2025, 0, 1));
    expect(spendPeriodAt('month', Date.UTC(2025, 0, 1)).index).toBe(
      spendPeriodAt('month', Date.UTC(2024, 11, 31, 23, 59)).index + 1,
    );
    expect(spendPeriodAt('day', Date.UTC(2025, 0, 1)).index).toBe(
      spendPeriodAt('day', Date.UTC(2024, 11, 31, 23, 59)).index + 1,
    );
  });
});
