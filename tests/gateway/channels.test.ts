import { basicPrice } from '../../core/cost.ts';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { usdPerTokenToNanosPerMtok } from '../../core/money.ts';
import { priceNanos } from '../../core/pricing.ts';
import { setChannelPrice } from '../../db/queries/channels.ts';
import { verifyLedger } from '../../db/queries/ledger-verify.ts';
import { walletBalance } from '../../db/queries/transfers.ts';
import { fakePromptTokens, startFakeUpstream, type FakeUpstream } from '../fake-upstream.ts';
import { addChannel, changeChannel, refusingBaseUrl, requestRow, usageTransfers } from './channels-harness.ts';
import { eventually, startHarness, type Harness } from './harness.ts';

/**
 * Failover across channels, over real HTTP on loopback: one channel refuses connections, one
 * answers 503, one never sends its response head; the default channel (the harness's fake
 * upstream) answers at its own price-table price. Breakers are set high here so that every
 * request walks the whole list (tests/gateway/breaker.test.ts covers them).
 */

const UNAVAILABLE_KEY = 'sk-chan-unavailable-0123456789abcdef';
const SLOW_KEY = 'sk-chan-slow-0123456789abcdef0123';
const MAPPED_KEY = 'sk-chan-mapped-0123456789abcdef01';
const CHANNEL_KEYS = [UNAVAILABLE_KEY, SLOW_KEY, MAPPED_KEY];

let h: Harness;
let unavailable: FakeUpstream;
let slow: FakeUpstream;
let mapped: FakeUpstream;
const ids: Record<string, string> = {};

/** The default channel's price table: half the catalog's fake/gpt-small price. */
const TABLE = basicPrice(
  usdPerTokenToNanosPerMtok('0.0000005') ?? 0n,
  usdPerTokenToNanosPerMtok('0.000001') ?? 0n,
  0n,
  0n,
);
const tableCharge = (promptTokens: number, completionTokens: number) =>
  priceNanos(
    BigInt(promptTokens) * TABLE.promptNanosPerMtok + BigInt(completionTokens) * TABLE.completionNanosPerMtok,
    [2000],
  );

beforeAll(async () => {
  process.env.TG_TEST_UNAVAILABLE_KEY = UNAVAILABLE_KEY;
  process.env.TG_TEST_SLOW_KEY = SLOW_KEY;
  process.env.TG_TEST_MAPPED_KEY = MAPPED_KEY;
  h = await startHarness({ TOLLGATE_BREAKER_FAILURES: '10000' });
  unavailable = await startFakeUpstream({ apiKey: UNAVAILABLE_KEY, defaults: { status: 503 } });
  slow = await startFakeUpstream({ apiKey: SLOW_KEY, defaults: { hang: true } });
  mapped = await startFakeUpstream({ apiKey: MAPPED_KEY });
  const gateways = [h.gateway];
  const defaultId = (await h.sql<{ id: string }[]>`select id from channels where name = 'default'`)[0]?.id ?? '';
  ids.default = defaultId;
  await setChannelPrice(h.sql, defaultId, 'fake/gpt-small', TABLE);
  await changeChannel(h.sql, gateways, 'default', { priceSource: 'table', models: ['fake/gpt-small'] });
  ids.refused = await addChannel(h.sql, gateways, 'refused', { baseUrl: await refusingBaseUrl(), priority: 30 });
  ids.unavailable = await addChannel(h.sql, gateways, 'unavailable', {
    baseUrl: unavailable.baseUrl,
    keyVariable: 'TG_TEST_UNAVAILABLE_KEY',
    priority: 20,
  });
  ids.slow = await addChannel(h.sql, gateways, 'slow', {
    baseUrl: slow.baseUrl,
    keyVariable: 'TG_TEST_SLOW_KEY',
    priority: 10,
    headersTimeoutMs: 300,
  });
});
afterAll(async () => {
  await h.close();
  await Promise.all([unavailable.close(), slow.close(), mapped.close()]);
});

describe('failover before the first byte', () => {
  test('a request fails over past a refused connection, a 503 and a silent upstream, and is charged once at the serving price', async () => {
    const { key, account } = await h.customer('1.00');
    const messages = [{ role: 'user' as const, content: 'fail over please' }];
    const raw = await h.client(key).chat.completions.create({ model: 'fake/gpt-small', messages }).withResponse();
    expect(raw.data.choices[0]?.message.content).toBe('tok0 tok1 tok2 tok3 tok4 ');
    const id = raw.response.headers.get('x-request-id') ?? '';
    const row = await requestRow(h.sql, id);
    expect(row?.channel_id).toBe(ids.default ?? '');
    expect(row?.attempts?.map((a) => [a.channel, a.status, a.outcome])).toEqual([
      ['refused', 0, 'unreachable'],
      ['unavailable', 503, 'failed'],
      ['slow', 0, 'timeout'],
      ['default', 200, 'answered'],
    ]);
    expect(row?.attempts?.[2]?.ms).toBeGreaterThanOrEqual(290);
    const charge = tableCharge(fakePromptTokens({ messages }), 5);
    expect(row?.charge_nanos).toBe(charge);
    expect(await usageTransfers(h.sql, id)).toBe(1);
    const balance = await eventually(
      () => walletBalance(h.sql, account.walletId),
      (b) => b?.heldNanos === 0n,
    );
    expect(balance?.availableNanos).toBe(1_000_000_000n - charge);
    expect(unavailable.requests.at(-1)?.headers.authorization).toBe(`Bearer ${UNAVAILABLE_KEY}`);
    expect(h.upstream.requests.at(-1)?.headers.authorization).not.toBe(`Bearer ${UNAVAILABLE_KEY}`);
  });

  test('a stream fails over the same way before its first byte, and is charged from its usage chunk', async () => {
    const { key } = await h.customer('1.00');
    const messages = [{ role: 'user' as const, content: 'stream after failover [[fake:chunks=3]]' }];
    const { data: stream, response } = await h
      .client(key)
      .chat.completions.create({ model: 'fake/gpt-small', messages, stream: true })
      .withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('tok0 tok1 tok2 ');
    const row = await requestRow(h.sql, response.headers.get('x-request-id') ?? '');
    expect(row?.attempts?.map((a) => a.outcome)).toEqual(['unreachable', 'failed', 'timeout', 'answered']);
    expect(row?.charge_nanos).toBe(tableCharge(fakePromptTokens({ messages }), 3));
  });

  test('a stream cut by the upstream after its first chunk is not retried elsewhere, and is settled', async () => {
    await changeChannel(h.sql, [h.gateway], 'refused', { state: 'disabled' });
    await changeChannel(h.sql, [h.gateway], 'unavailable', { state: 'disabled' });
    await changeChannel(h.sql, [h.gateway], 'slow', { state: 'disabled' });
    await changeChannel(h.sql, [h.gateway], 'default', { priority: 10 });
    const backup = await startFakeUpstream();
    await addChannel(h.sql, [h.gateway], 'backup', { baseUrl: backup.baseUrl, priority: 0 });
    try {
      const { key, account } = await h.customer('1.00');
      const messages = [{ role: 'user' as const, content: 'cut me [[fake:chunks=6,cut_after=2]]' }];
      const { data: stream, response } = await h
        .client(key)
        .chat.completions.create({ model: 'fake/gpt-small', messages, stream: true })
        .withResponse();
      let text = '';
      const failure = await (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })().catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(OpenAI.APIError);
      expect(text).toBe('tok0 tok1 ');
      expect(backup.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
      const row = await requestRow(h.sql, response.headers.get('x-request-id') ?? '');
      expect(row?.attempts?.map((a) => [a.channel, a.outcome])).toEqual([['default', 'answered']]);
      expect(row?.outcome).toBe('failed');
      expect(row?.charge_nanos).toBeGreaterThan(0n);
      const balance = await eventually(
        () => walletBalance(h.sql, account.walletId),
        (b) => b?.heldNanos === 0n,
      );
      expect(balance?.heldNanos).toBe(0n);
    } finally {
      await changeChannel(h.sql, [h.gateway], 'backup', { state: 'disabled' });
      await backup.close();
    }
  });
});

describe('model mapping', () => {
  test('a customer asks for gpt-4o and each channel receives its own id for it', async () => {
    await changeChannel(h.sql, [h.gateway], 'unavailable', {
      state: 'active',
      models: [],
      modelMap: { 'gpt-4o': 'fake/gpt-small' },
    });
    await addChannel(h.sql, [h.gateway], 'mapped', {
      baseUrl: mapped.baseUrl,
      keyVariable: 'TG_TEST_MAPPED_KEY',
      models: [],
      modelMap: { 'gpt-4o': 'fake/gpt-large' },
      priority: 5,
    });
    const { key } = await h.customer('1.00');
    const answer = await h
      .client(key)
      .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'which model?' }] });
    expect(answer.choices[0]?.message.content).toBe('tok0 tok1 tok2 tok3 tok4 ');
    const asked = (fake: FakeUpstream) => (fake.requests.at(-1)?.body as { model?: string } | null)?.model;
    expect(asked(unavailable)).toBe('fake/gpt-small');
    expect(asked(mapped)).toBe('fake/gpt-large');
  });

  test('/v1/models lists gpt-4o once, priced for the dearest channel that serves it', async () => {
    const { key } = await h.customer('1.00');
    const list = await h.client(key).models.list();
    const ids = list.data.map((m) => m.id);
    expect(ids.filter((id) => id === 'gpt-4o')).toHaveLength(1);
    expect(new Set(ids).size).toBe(ids.length);
    const gpt4o = list.data.find((m) => m.id === 'gpt-4o') as unknown as { pricing: { completion: string } };
    // fake/gpt-large's completion price ($0.000015 per token) at the root's 20% markup.
    expect(gpt4o.pricing.completion).toBe('0.000018');
  });
});

describe('secrets', () => {
  test("no channel's key appears in any log line or error the gateway produced", async () => {
    expect(await verifyLedger(h.sql).then((r) => r.violations)).toEqual([]);
    const logs = h.logs.join('\n');
    for (const secret of CHANNEL_KEYS) expect(logs).not.toContain(secret);
    const [row] = await h.sql<{ n: number }[]>`
      select count(*)::int as n from requests where attempts::text like '%sk-chan-%' or error_code like '%sk-chan-%'`;
    expect(row?.n).toBe(0);
  });
});
