import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { upsertPolicy, type PolicyLimits, type PolicySubjectRef } from '../../db/queries/rate-limit-policies.ts';
import { eventually, startHarness, type Harness } from './harness.ts';

/**
 * The limits model a reseller expects (issue 21.1): the tenant's policy is a default counted for
 * each account apart, an account's own policy replaces it, and a whole-tenant policy caps all
 * customers together. Each test sets the root tenant's policies afresh.
 */

const NO_LIMITS: PolicyLimits = {
  requestsPerMinute: null,
  requestsPerHour: null,
  tokensPerMinute: null,
  concurrentRequests: null,
  spendPerDayNanos: null,
  spendPerMonthNanos: null,
};
/** Longer than the gateway's policy cache (1.5 s), so policies just set apply. */
const POLICY_VISIBLE_MS = 1_600;

let h: Harness;

async function ask(key: string): Promise<{ status: number; message: string }> {
  try {
    await h
      .client(key)
      .chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'hi' }] });
    return { status: 200, message: '' };
  } catch (error) {
    if (!(error instanceof OpenAI.APIError)) throw error;
    return { status: error.status ?? -1, message: error.message };
  }
}

async function policies(...set: [PolicySubjectRef, Partial<PolicyLimits>][]): Promise<void> {
  for (const [subject, limits] of set) await upsertPolicy(h.sql, subject, { ...NO_LIMITS, ...limits });
  await Bun.sleep(POLICY_VISIBLE_MS);
}

beforeAll(async () => {
  h = await startHarness();
});
beforeEach(async () => {
  await h.sql`delete from rate_limit_policies`;
});
afterAll(() => h.close());

describe('the tenant default', () => {
  test('two customers under a tenant default of 2 rpm each get their own count', async () => {
    const a = await h.customer('1');
    const b = await h.customer('1');
    await policies([{ kind: 'tenant', id: h.rootTenantId }, { requestsPerMinute: 2 }]);
    expect((await ask(a.key)).status).toBe(200);
    expect((await ask(b.key)).status).toBe(200);
    expect((await ask(a.key)).status).toBe(200);
    expect((await ask(b.key)).status).toBe(200);
    const third = await ask(a.key);
    expect(third.status).toBe(429);
    expect(third.message).toContain('2 requests per minute');
    expect((await ask(b.key)).status).toBe(429);
  });

  test("an account's own rpm of 100 lifts a tenant default of 1", async () => {
    const lifted = await h.customer('1');
    const other = await h.customer('1');
    await policies(
      [{ kind: 'tenant', id: h.rootTenantId }, { requestsPerMinute: 1 }],
      [{ kind: 'account', id: lifted.account.id }, { requestsPerMinute: 100 }],
    );
    for (let i = 0; i < 5; i++) expect((await ask(lifted.key)).status).toBe(200);
    expect((await ask(other.key)).status).toBe(200);
    expect((await ask(other.key)).status).toBe(429);
  });

  test('GET /v1/key says whether the account limits are its own or the tenant default', async () => {
    const own = await h.customer('1');
    const defaulted = await h.customer('1');
    await policies(
      [{ kind: 'tenant', id: h.rootTenantId }, { requestsPerMinute: 7 }],
      [{ kind: 'wholeTenant', id: h.rootTenantId }, { requestsPerMinute: 900 }],
      [{ kind: 'account', id: own.account.id }, { requestsPerMinute: 50 }],
    );
    type Limits = Record<string, { requestsPerMinute: number | null; source?: string | null }>;
    const limitsOf = async (key: string) =>
      (
        (await (await fetch(`${h.gateway.url}/v1/key`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
          data: { rate_limits: Limits };
        }
      ).data.rate_limits;
    const ownLimits = await limitsOf(own.key);
    expect(ownLimits.account).toMatchObject({ requestsPerMinute: 50, source: 'account' });
    expect(ownLimits.tenant?.requestsPerMinute).toBe(900);
    const defaultLimits = await limitsOf(defaulted.key);
    expect(defaultLimits.account).toMatchObject({ requestsPerMinute: 7, source: 'tenantDefault' });
    expect(defaultLimits.tenant?.requestsPerMinute).toBe(900);
    expect(defaultLimits.key).toBeUndefined();
  });
});

describe('the whole-tenant cap', () => {
  test("counts every customer's requests together, on top of each account's own limits", async () => {
    const a = await h.customer('1');
    const b = await h.customer('1');
    await policies(
      [{ kind: 'tenant', id: h.rootTenantId }, { requestsPerMinute: 100 }],
      [{ kind: 'wholeTenant', id: h.rootTenantId }, { requestsPerMinute: 3 }],
      [{ kind: 'account', id: b.account.id }, { requestsPerMinute: 1_000 }],
    );
    expect((await ask(a.key)).status).toBe(200);
    expect((await ask(b.key)).status).toBe(200);
    expect((await ask(a.key)).status).toBe(200);
    expect((await ask(b.key)).status).toBe(429);
    expect((await ask(a.key)).status).toBe(429);
  });

  test("a whole-tenant day spending cap counts every customer's spend", async () => {
    const a = await h.customer('1');
    const b = await h.customer('1');
    // The earlier tests' customers spent today too, and the cap counts them: it leaves one nano-dollar.
    // Their settlements are written after their answers, so the sum waits for every hold to be resolved.
    await eventually(
      () => h.sql<{ open: number }[]>`
        select count(*)::int as open from holds h join wallets w on w.id = h.wallet_id join accounts a on a.id = w.account_id
        where a.tenant_id = ${h.rootTenantId}::uuid and h.outcome is null`,
      (rows) => rows[0]?.open === 0,
    );
    const [today] = await h.sql<{ charged: bigint }[]>`
      select coalesce(sum(charge_nanos), 0)::int8 as charged from requests
      where tenant_id = ${h.rootTenantId}::uuid and created_at >= date_trunc('day', now() at time zone 'utc') at time zone 'utc'`;
    await policies([{ kind: 'wholeTenant', id: h.rootTenantId }, { spendPerDayNanos: (today?.charged ?? 0n) + 1n }]);
    expect((await ask(a.key)).status).toBe(200);
    // The first charge is counted once it is priced, just after the response.
    await Bun.sleep(200);
    const refused = await ask(b.key);
    expect(refused.status).toBe(429);
    expect(refused.message).toContain('Spending limit reached for this tenant');
  });
});
