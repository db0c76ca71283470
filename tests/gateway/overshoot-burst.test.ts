import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { formatUsd, usdPerTokenToNanosPerMtok } from '../../core/money.ts';
import { chainPricesNanos } from '../../core/pricing.ts';
import { createAccount } from '../../db/queries/accounts.ts';
import { createApiKey } from '../../db/queries/api-keys.ts';
import { verifyLedger } from '../../db/queries/ledger-verify.ts';
import { createTenant, tenantWalletId } from '../../db/queries/tenants.ts';
import { recordTransfer, walletBalance } from '../../db/queries/transfers.ts';
import { FAKE_MODELS, fakePromptTokens } from '../fake-upstream.ts';
import { createMetrics } from '../../gateway/metrics.ts';
import { eventually, PEPPER, startHarness, type Harness } from './harness.ts';

/**
 * Issue 17's bursts: an upstream reporting six times what its catalog prices allow, 200 concurrent
 * requests (half streamed) on a balance covering about 100 real charges. No wallet goes below
 * zero, during the burst or after it; once the bound is learned, the next burst is held enough.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  h.upstream.setDefaults({ costFactor: 6 });
});
afterAll(async () => {
  await h.close();
});

const REQUESTS = 200;
const AFFORDABLE = 100;
const OUTPUT_TOKENS = 10;
const FACTOR = 6n;
// Every request lives at least this long upstream, so all holds are placed before any settles.
const CONTENT = 'a burst above the catalog bound [[fake:chunks=10,pause_ms=1500]]';

/** The exact price the fake's report gives one burst request at the root's markup. */
async function realPriceNanos(modelId: string): Promise<bigint> {
  const model = FAKE_MODELS.find((m) => m.id === modelId);
  const prompt = usdPerTokenToNanosPerMtok(model?.promptUsdPerToken ?? '') ?? 0n;
  const completion = usdPerTokenToNanosPerMtok(model?.completionUsdPerToken ?? '') ?? 0n;
  const promptTokens = fakePromptTokens({ messages: [{ role: 'user', content: CONTENT }] });
  const cost = FACTOR * (BigInt(promptTokens) * prompt + BigInt(OUTPUT_TOKENS) * completion);
  const chain = await h.gateway.services.tenantPricing.forTenant(h.rootTenantId);
  return chainPricesNanos(cost, chain.markupsFor(modelId)).at(-1) ?? 0n;
}

type Watch = { lowest: () => bigint; stop: () => Promise<void> };

/** Samples the wallets' available credit every few milliseconds until stopped. */
function watch(walletIds: bigint[], start: bigint): Watch {
  let lowest = start;
  let watching = true;
  const loop = (async () => {
    while (watching) {
      for (const id of walletIds) {
        const balance = await walletBalance(h.sql, id);
        if (balance && balance.availableNanos < lowest) lowest = balance.availableNanos;
      }
      await Bun.sleep(10);
    }
  })();
  return {
    lowest: () => lowest,
    stop: async () => {
      watching = false;
      await loop;
    },
  };
}

async function burst(client: OpenAI, model: string, count: number): Promise<('ok' | number)[]> {
  const one = async (i: number): Promise<'ok' | number> => {
    const body = { model, messages: [{ role: 'user' as const, content: CONTENT }], max_tokens: OUTPUT_TOKENS };
    try {
      if (i % 2 === 0) {
        const stream = await client.chat.completions.create({ ...body, stream: true });
        for await (const chunk of stream) void chunk;
      } else await client.chat.completions.create(body);
      return 'ok';
    } catch (error) {
      return error instanceof OpenAI.APIError ? (error.status ?? -1) : -1;
    }
  };
  return Promise.all(Array.from({ length: count }, (_, i) => one(i)));
}

type Settled = { price: bigint; charged: bigint; writtenOff: bigint };

/** Each posted request of the wallet: its exact price, what the wallet paid and what was written off. */
async function settledOn(walletId: bigint): Promise<Settled[]> {
  const rows = await h.sql<{ price: bigint; charged: bigint; written_off: bigint }[]>`
    select r.charge_nanos as price, h.charged_nanos as charged, h.written_off_nanos as written_off
    from holds h join requests r on r.id = h.request_id
    where h.wallet_id = ${walletId.toString()}::int8 and h.outcome = 'posted'`;
  return rows.map((row) => ({ price: row.price, charged: row.charged, writtenOff: row.written_off }));
}

const settledWallet = (walletId: bigint) =>
  eventually(
    () => walletBalance(h.sql, walletId),
    (b) => b?.heldNanos === 0n,
    30_000,
  );

describe('an upstream reporting six times the catalog bound', () => {
  const MODEL = 'fake/gpt-large';
  let credit = 0n;

  test('a burst of 200 never takes the wallet below zero; each charge plus write-off is its exact price', async () => {
    const price = await realPriceNanos(MODEL);
    credit = price * BigInt(AFFORDABLE);
    const { key, account } = await h.customer(formatUsd(credit));
    const watcher = watch([account.walletId], credit);
    const results = await burst(h.client(key), MODEL, REQUESTS);
    const settled = await settledWallet(account.walletId);
    await watcher.stop();
    expect(results.filter((r) => r === 'ok').length).toBeGreaterThan(AFFORDABLE);
    expect(watcher.lowest()).toBeGreaterThanOrEqual(0n);
    expect(settled?.availableNanos).toBeGreaterThanOrEqual(0n);
    const posted = await settledOn(account.walletId);
    expect(posted.length).toBe(results.filter((r) => r === 'ok').length);
    for (const p of posted) expect(p.charged + p.writtenOff).toBe(p.price);
    expect(posted.reduce((sum, p) => sum + p.charged, 0n)).toBeLessThanOrEqual(credit);
    expect(posted.some((p) => p.writtenOff > 0n)).toBe(true);
    expect((await verifyLedger(h.sql)).violations).toEqual([]);
  }, 120_000);

  test('the overshoot is learned, logged and shown on /metrics with what was written off', async () => {
    await h.gateway.services.learnedBounds.flush();
    expect(h.gateway.services.learnedBounds.factorBps(MODEL)).toBeGreaterThanOrEqual(60_000);
    expect(h.logs.some((line) => line.includes('learned hold bound raised') && line.includes(MODEL))).toBe(true);
    const metrics = await createMetrics({ sql: h.sql, log: h.gateway.services.log }).render();
    const factor = Number(
      /tollgate_learned_hold_factor\{upstream="[^"]*",model="fake\/gpt-large"\} (\S+)/.exec(metrics)?.[1],
    );
    expect(factor).toBeGreaterThanOrEqual(6);
    expect(Number(/^tollgate_written_off_nanos (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
  });

  test('the same burst on a fresh wallet then admits no more than the credit affords and writes nothing off', async () => {
    const { key, account } = await h.customer(formatUsd(credit));
    const results = await burst(h.client(key), MODEL, REQUESTS);
    await settledWallet(account.walletId);
    const admitted = results.filter((r) => r === 'ok').length;
    expect(admitted).toBeGreaterThan(0);
    expect(admitted).toBeLessThanOrEqual(AFFORDABLE + 3);
    expect(results.filter((r) => r !== 'ok' && r !== 402)).toEqual([]);
    const posted = await settledOn(account.walletId);
    expect(posted.reduce((sum, p) => sum + p.writtenOff, 0n)).toBe(0n);
    expect((await verifyLedger(h.sql)).violations).toEqual([]);
  }, 120_000);
});

describe('a customer of a reseller under the same burst', () => {
  test('keeps every wallet of the customer -> reseller -> root chain at or above zero', async () => {
    const MODEL = 'fake/gpt-small';
    const reseller = await createTenant(h.sql, {
      slug: 'burst-reseller',
      name: 'R',
      markupBps: 1000,
      parentId: h.rootTenantId,
    });
    const wholesale = await tenantWalletId(h.sql, reseller.id, 'reseller');
    const price = await realPriceNanos(MODEL);
    const fund = async (walletId: bigint, tenantId: string, nanos: bigint) =>
      recordTransfer(h.sql, {
        kind: 'purchase',
        cause: `burst-fund-${walletId}`,
        entries: [
          { walletId, funding: 'paid', amountNanos: nanos },
          { walletId: await tenantWalletId(h.sql, tenantId, 'clearing'), funding: 'paid', amountNanos: -nanos },
        ],
      });
    // The reseller's wholesale credit runs out first, so both levels are pushed past their holds.
    await fund(wholesale, h.rootTenantId, price * 40n);
    const account = await createAccount(h.sql, { tenantId: reseller.id, email: 'burst@reseller.example' });
    await fund(account.walletId, reseller.id, price * 2n * BigInt(AFFORDABLE));
    const { key } = await createApiKey(h.sql, PEPPER, { accountId: account.id });
    const watcher = watch([account.walletId, wholesale], price * 40n);
    const results = await burst(h.client(key), MODEL, REQUESTS);
    await settledWallet(account.walletId);
    await settledWallet(wholesale);
    await watcher.stop();
    expect(results.filter((r) => r === 'ok').length).toBeGreaterThan(0);
    expect(watcher.lowest()).toBeGreaterThanOrEqual(0n);
    for (const walletId of [account.walletId, wholesale])
      expect((await walletBalance(h.sql, walletId))?.availableNanos).toBeGreaterThanOrEqual(0n);
    for (const p of await settledOn(account.walletId)) expect(p.charged + p.writtenOff).toBe(p.price);
    // The reseller owes the root the root's price of each request; what it could not pay is written off.
    const owed = await h.sql<{ owed: bigint; charged: bigint; written_off: bigint }[]>`
      select rc.revenue_nanos as owed, h.charged_nanos as charged, h.written_off_nanos as written_off
      from holds h join request_charges rc on rc.request_id = h.request_id and rc.tenant_id = ${h.rootTenantId}::uuid
      where h.wallet_id = ${wholesale.toString()}::int8 and h.outcome = 'posted'`;
    expect(owed.length).toBeGreaterThan(0);
    for (const row of owed) expect(row.charged + row.written_off).toBe(row.owed);
    const rootBook = await walletBalance(h.sql, await tenantWalletId(h.sql, h.rootTenantId, 'uncollected'));
    expect(rootBook?.paidNanos).toBeLessThan(0n);
    expect((await verifyLedger(h.sql)).violations).toEqual([]);
  }, 120_000);
});
