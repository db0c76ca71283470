import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { upsertPolicy, type PolicyLimits } from '../../db/queries/rate-limit-policies.ts';
import { eventually, startHarness, type Harness } from './harness.ts';

/**
 * Spending limits set after the spending started (issue 21.4): with the real clock and the
 * in-process store, a day or month limit counts everything its subject spent in that UTC period,
 * also what it spent before the limit existed. Every request costs the same charge `c`.
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
/** Longer than the gateway's policy cache (1.5 s), so a policy just set applies. */
const POLICY_VISIBLE_MS = 1_600;

let h: Harness;

async function ask(key: string): Promise<number> {
  try {
    await h
      .client(key)
      .chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: PROMPT }] });
    return 200;
  } catch (error) {
    if (!(error instanceof OpenAI.APIError)) throw error;
    return error.status ?? -1;
  }
}

async function charges(accountId: string, count: number): Promise<bigint[]> {
  const rows = await eventually(
    () => h.sql<{ charge_nanos: bigint }[]>`select charge_nanos from requests where account_id = ${accountId}::uuid`,
    (found) => found.length === count,
  );
  return rows.map((row) => row.charge_nanos);
}

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

describe('a spending limit set during its period', () => {
  test('a key day limit counts what the key spent earlier that UTC day', async () => {
    const { key, keyId, account } = await h.customer('1.00');
    expect(await ask(key)).toBe(200);
    expect(await ask(key)).toBe(200);
    const [c = 0n, second] = await charges(account.id, 2);
    expect(second).toBe(c);
    await upsertPolicy(h.sql, { kind: 'apiKey', id: keyId }, { ...NO_LIMITS, spendPerDayNanos: 3n * c });
    await Bun.sleep(POLICY_VISIBLE_MS);
    expect(await ask(key)).toBe(200);
    await charges(account.id, 3);
    expect(await ask(key)).toBe(429);
  });

  test('an account month limit already reached refuses the first request after it is set', async () => {
    const { key, account } = await h.customer('1.00');
    expect(await ask(key)).toBe(200);
    const [c = 0n] = await charges(account.id, 1);
    await upsertPolicy(h.sql, { kind: 'account', id: account.id }, { ...NO_LIMITS, spendPerMonthNanos: c });
    await Bun.sleep(POLICY_VISIBLE_MS);
    expect(await ask(key)).toBe(429);
  });
});
