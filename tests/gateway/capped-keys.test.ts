import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { parseUsd } from '../../core/money.ts';
import { walletBalance } from '../../db/queries/transfers.ts';
import { eventually, startHarness, type Harness } from './harness.ts';

/**
 * A key with a credit cap, used as a client uses it: each request sent as soon as the last one
 * ended. No max_tokens, so every hold asks for more than the cap has left and reserves all of it.
 */

const PROMPT = 'hi [[fake:chunks=5]]';

type KeyInfo = { usage: string; limit: string | null; limit_remaining: string | null; limit_held: string | null };

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

async function ask(key: string, stream: boolean): Promise<{ status: number; message: string }> {
  const client = h.client(key);
  const messages = [{ role: 'user' as const, content: PROMPT }];
  try {
    if (stream) {
      const chunks = await client.chat.completions.create({ model: 'fake/gpt-small', messages, stream: true });
      for await (const _chunk of chunks);
    } else {
      await client.chat.completions.create({ model: 'fake/gpt-small', messages });
    }
    return { status: 200, message: '' };
  } catch (error) {
    if (!(error instanceof OpenAI.APIError)) throw error;
    return { status: error.status ?? -1, message: error.message };
  }
}

async function keyRow(keyId: string): Promise<{ spent: bigint; held: bigint }> {
  const [row] = await h.sql<{ spent: bigint; held: bigint }[]>`
    select spent_nanos as spent, held_nanos as held from api_keys where id = ${keyId}::uuid`;
  return row ?? { spent: -1n, held: -1n };
}

async function keyInfo(key: string): Promise<KeyInfo> {
  const response = await fetch(`${h.gateway.url}/v1/key`, { headers: { authorization: `Bearer ${key}` } });
  return ((await response.json()) as { data: KeyInfo }).data;
}

const CAP_NANOS = 100_000n;
const MAX_REQUESTS = 20;

describe('a capped key', () => {
  test('spends to its cap request after request and is refused only when the rest cannot cover one request', async () => {
    const { key, keyId, account } = await h.customer('1', { creditCapNanos: CAP_NANOS });
    const statuses: number[] = [];
    let refusal = '';
    for (let i = 0; i < MAX_REQUESTS && refusal === ''; i++) {
      const answer = await ask(key, i % 2 === 1);
      statuses.push(answer.status);
      if (answer.status !== 200) refusal = answer.message;
    }
    expect(statuses.at(-1)).toBe(402);
    expect(statuses.slice(0, -1).every((status) => status === 200)).toBe(true);
    const needed = parseUsd(/request needs \(\$([0-9.]+)\)/.exec(refusal)?.[1] ?? '') ?? -1n;
    expect(needed).toBeGreaterThan(0n);
    const settled = await eventually(
      () => keyRow(keyId),
      (row) => row.held === 0n,
    );
    // Refused only once what is left of the cap is less than the least this request can cost.
    expect(CAP_NANOS - settled.spent).toBeLessThan(needed);
    expect(settled.spent).toBeLessThanOrEqual(CAP_NANOS);
    expect(statuses.length).toBeGreaterThan(3);
    const [logged] = await h.sql<{ charged: bigint }[]>`
      select coalesce(sum(charge_nanos), 0)::int8 as charged from requests where api_key_id = ${keyId}::uuid`;
    expect(logged?.charged).toBe(settled.spent);
    // No spare hold is ever placed for a capped key: nothing stays reserved on the account.
    expect((await walletBalance(h.sql, account.walletId))?.heldNanos).toBe(0n);
    await Bun.sleep(100);
    expect((await ask(key, false)).status).toBe(402);
  });

  test('GET /v1/key shows the charge of the request that just ended and what is left of the cap exactly', async () => {
    const { key, keyId } = await h.customer('1', { creditCapNanos: CAP_NANOS });
    expect((await ask(key, false)).status).toBe(200);
    const info = await keyInfo(key);
    const { spent, held } = await keyRow(keyId);
    expect(held).toBe(0n);
    expect(spent).toBeGreaterThan(0n);
    expect(parseUsd(info.usage)).toBe(spent);
    expect(info.limit).toBe('0.0001');
    expect(parseUsd(info.limit_remaining ?? '')).toBe(CAP_NANOS - spent);
    expect(info.limit_held).toBe('0.00');
    expect((await ask(key, true)).status).toBe(200);
    const after = await keyInfo(key);
    const row = await keyRow(keyId);
    expect(parseUsd(after.usage)).toBe(row.spent);
    expect(row.spent).toBeGreaterThan(spent);
    expect(parseUsd(after.limit_remaining ?? '')).toBe(CAP_NANOS - row.spent);
  });
});
