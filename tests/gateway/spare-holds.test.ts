import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { formatUsd } from '../../core/money.ts';
import { createApiKey } from '../../db/queries/api-keys.ts';
import { verifyLedger } from '../../db/queries/ledger-verify.ts';
import { walletBalance } from '../../db/queries/transfers.ts';
import { releaseHolds } from '../../db/queries/holds.ts';
import { createLogger } from '../../app/log.ts';
import {
  createSpareHolds,
  SPARE_HEADROOM,
  SPARE_IDLE_MS,
  SPARES_PER_RUNNING_REQUEST,
} from '../../ledger/spare-holds.ts';
import { eventually, PEPPER, startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({}, { listen: false });
});
afterAll(async () => {
  await h.close();
});

type HoldRow = { request_id: string; amount_nanos: bigint; created_at: Date; outcome: string | null };

const holdsOf = (walletId: bigint) =>
  h.sql<
    HoldRow[]
  >`select request_id, amount_nanos, created_at, outcome from holds where wallet_id = ${walletId.toString()}::int8 order by id`;

async function chatOn(harness: Harness, key: string, maxTokens = 10): Promise<{ requestId: string; sentAt: Date }> {
  const sentAt = new Date();
  const raw = await harness
    .client(key)
    .chat.completions.create({
      model: 'fake/gpt-small',
      messages: [{ role: 'user', content: 'spare holds' }],
      max_tokens: maxTokens,
    })
    .withResponse();
  return { requestId: raw.response.headers.get('x-request-id') ?? '', sentAt };
}

const chat = (key: string, maxTokens = 10) => chatOn(h, key, maxTokens);

/** The hold one request of this shape places, read from a probe customer's ledger. */
async function holdFor(maxTokens: number): Promise<bigint> {
  const probe = await h.customer('1.00');
  const { requestId } = await chat(probe.key, maxTokens);
  const [row] = await h.sql<{ amount_nanos: bigint }[]>`select amount_nanos from holds where request_id = ${requestId}`;
  return row?.amount_nanos ?? 0n;
}

describe('spare holds', () => {
  test('a key in back-to-back use finds its next hold durable before the request arrives, charged exactly once', async () => {
    const { key, account } = await h.customer('1.00');
    const calls: { requestId: string; sentAt: Date }[] = [];
    for (let i = 0; i < 4; i++) {
      calls.push(await chat(key));
      // Apart by more than the timestamps' millisecond, still back to back.
      await Bun.sleep(5);
    }
    const requests = await eventually(
      () =>
        h.sql<
          { id: string; charge_nanos: bigint; hold_nanos: bigint }[]
        >`select id, charge_nanos, hold_nanos from requests where account_id = ${account.id}`,
      (rows) => rows.length === calls.length,
    );
    const holds = await holdsOf(account.walletId);
    const holdOf = new Map(holds.map((row) => [row.request_id, row]));
    // The first two requests hold as they arrive (the second readies spares); from the third on,
    // each request's hold was placed by an earlier one, so it is older than the request itself.
    for (const [i, call] of calls.entries()) {
      const hold = holdOf.get(call.requestId);
      expect(hold?.outcome === null || hold?.outcome === 'posted').toBe(true);
      if (i >= 2) expect(hold?.created_at.getTime()).toBeLessThan(call.sentAt.getTime());
    }
    const charge = requests[0]?.charge_nanos ?? -1n;
    for (const row of requests) {
      expect(row.charge_nanos).toBe(charge);
      expect(row.hold_nanos).toBe(holds[0]?.amount_nanos ?? -1n);
    }
    // The second request readied a full set of spares; two were taken, the rest stay reserved for
    // the next requests and are voided once the key is idle.
    expect(holds.length).toBe(2 + SPARES_PER_RUNNING_REQUEST);
    const settled = await eventually(
      () => walletBalance(h.sql, account.walletId),
      (b) => b?.heldNanos === 0n,
      SPARE_IDLE_MS * 5,
    );
    expect(settled?.availableNanos).toBe(1_000_000_000n - charge * BigInt(calls.length));
    const spares = (await holdsOf(account.walletId)).filter(
      (row) => !calls.some((call) => call.requestId === row.request_id),
    );
    expect(spares.map((row) => row.outcome)).toEqual(
      Array.from({ length: SPARES_PER_RUNNING_REQUEST - 2 }, () => 'voided'),
    );
    expect((await verifyLedger(h.sql)).violations).toEqual([]);
  });

  test(`a wallet without ${SPARE_HEADROOM} times what spares would reserve available after them gets none`, async () => {
    const hold = await holdFor(10);
    const { key, account } = await h.customer(formatUsd(hold * BigInt(SPARES_PER_RUNNING_REQUEST * SPARE_HEADROOM)));
    for (let i = 0; i < 4; i++) await chat(key);
    await eventually(
      () => walletBalance(h.sql, account.walletId),
      (b) => b?.heldNanos === 0n,
    );
    expect((await holdsOf(account.walletId)).length).toBe(4);
  });

  test("a request that a spare would shrink gets its whole hold: this replica's spares on the wallet are voided first", async () => {
    const small = await holdFor(10);
    const perThousandTokens = (await holdFor(1010)) - small;
    const spared = small * BigInt(SPARES_PER_RUNNING_REQUEST);
    const { key, account } = await h.customer(formatUsd(spared * BigInt(SPARE_HEADROOM + 1) + small * 10n));
    await chat(key);
    await chat(key);
    const withSpares = await eventually(
      async () => ({ balance: await walletBalance(h.sql, account.walletId), holds: await holdsOf(account.walletId) }),
      ({ balance }) => balance?.heldNanos === spared,
    );
    const spares = withSpares.holds.filter((row) => row.outcome === null);
    expect(spares.length).toBe(SPARES_PER_RUNNING_REQUEST);
    // A second key of the same account asks for more than is available beside the spares, but
    // less than without them.
    const availableWithoutSpares = (withSpares.balance?.availableNanos ?? 0n) + spared;
    const maxTokens = 10 + Number(((availableWithoutSpares - small / 2n - small) * 1000n) / perThousandTokens);
    const { key: second } = await createApiKey(h.sql, PEPPER, { accountId: account.id });
    const big = await chat(second, maxTokens);
    const [row] = await eventually(
      () =>
        h.sql<
          { hold_nanos: bigint; status_code: number }[]
        >`select hold_nanos, status_code from requests where id = ${big.requestId}`,
      (rows) => rows.length === 1,
    );
    expect(row?.status_code).toBe(200);
    expect(row?.hold_nanos).toBeGreaterThan(availableWithoutSpares - spared);
    expect((h.upstream.requests.at(-1)?.body as { max_tokens?: number } | undefined)?.max_tokens).toBe(maxTokens);
    const after = await h.sql<
      { outcome: string | null }[]
    >`select outcome from holds where request_id = any(${spares.map((spare) => spare.request_id)}::text[])`;
    expect(after.map((hold) => hold.outcome)).toEqual(
      Array.from({ length: SPARES_PER_RUNNING_REQUEST }, () => 'voided'),
    );
    expect((await verifyLedger(h.sql)).violations).toEqual([]);
  });

  test('spares follow the concurrency of their key: one statement readies more than a single connection keeps', async () => {
    const { key, account } = await h.customer('1.00');
    const client = h.client(key);
    const slowStream = async () => {
      const { data, response } = await client.chat.completions
        .create({
          model: 'fake/gpt-small',
          messages: [{ role: 'user', content: '[[fake:chunks=5,delay_ms=100]] slow' }],
          max_tokens: 10,
          stream: true,
        })
        .withResponse();
      for await (const chunk of data) void chunk;
      return { id: response.headers.get('x-request-id') ?? '' };
    };
    await slowStream();
    await slowStream();
    const streams: Promise<{ id: string }>[] = [];
    // Streams that overlap: with three running, the spares left fall below a quarter of what
    // three running requests keep, and one statement tops them up.
    for (let i = 0; i < 6; i++) {
      await Bun.sleep(50);
      streams.push(slowStream());
    }
    const calls = await Promise.all(streams);
    await eventually(
      () => walletBalance(h.sql, account.walletId),
      (b) => b?.heldNanos === 0n,
      SPARE_IDLE_MS * 5,
    );
    const holds = await holdsOf(account.walletId);
    const holdOf = new Map(holds.map((row) => [row.request_id, row]));
    // Every stream took a spare (one outlives a request's own hold by its margin, so the request
    // keeps its whole time-to-live) and was charged on it.
    const spareIds = await h.sql<{ request_id: string }[]>`
      select request_id from holds where wallet_id = ${account.walletId.toString()}::int8
        and expires_at - created_at > make_interval(secs => ${h.gateway.services.config.holdTtlSeconds})`;
    for (const call of calls) {
      expect(holdOf.get(call.id)?.outcome).toBe('posted');
      expect(spareIds.some((row) => row.request_id === call.id)).toBe(true);
    }
    // Spares of one statement share its transaction's timestamp.
    const perStatement = Map.groupBy(holds.slice(2), (row) => row.created_at.getTime());
    expect(Math.max(...[...perStatement.values()].map((rows) => rows.length))).toBeGreaterThan(
      SPARES_PER_RUNNING_REQUEST,
    );
    expect(holds.filter((row) => row.outcome === 'posted').length).toBe(2 + calls.length);
    expect(holds.every((row) => row.outcome === 'posted' || row.outcome === 'voided')).toBe(true);
    expect((await verifyLedger(h.sql)).violations).toEqual([]);
  });

  test('a wallet that cannot keep as many spares as the load asks for keeps half as many, without a pause', async () => {
    const amount = 1_000_000n;
    // Enough for twelve spares and their headroom, not for the sixteen that two running requests keep.
    const { account } = await h.customer(formatUsd(amount * 12n * BigInt(SPARE_HEADROOM + 1)));
    const spares = createSpareHolds(h.sql, createLogger('error'), 60);
    try {
      const take = () => spares.take('key', account.walletId, amount);
      const uses = [take(), take()];
      expect(uses.map((use) => use.spare)).toEqual([null, null]);
      // The second came back to back, with two running: it readied sixteen, declined as one, so
      // the next request, which waited on one of them, holds anew.
      uses.push(take());
      expect(await uses[2]?.spare?.placed).toBe(false);
      // The next top-up asks for half as many, and is placed at once.
      uses.push(take());
      expect(uses[3]?.spare).toBeNull();
      uses.push(take());
      expect(await uses[4]?.spare?.placed).toBe(true);
      const placed = await holdsOf(account.walletId);
      expect(placed.length).toBe(SPARES_PER_RUNNING_REQUEST);
      expect(placed.every((row) => row.outcome === null && row.amount_nanos === amount)).toBe(true);
      await releaseHolds(h.sql, [uses[4]?.spare?.requestId ?? ''], 'voided');
      for (const use of uses) use.done();
    } finally {
      await spares.close();
    }
    expect((await walletBalance(h.sql, account.walletId))?.heldNanos).toBe(0n);
  });

  test('a graceful stop voids the spares no request has taken', async () => {
    const other = await startHarness({}, { listen: false });
    try {
      const { key, account } = await other.customer('1.00');
      for (let i = 0; i < 3; i++) await chatOn(other, key);
      const last = performance.now();
      await eventually(
        () => other.sql<{ n: number }[]>`select count(*)::int as n from requests where account_id = ${account.id}`,
        ([row]) => row?.n === 3,
      );
      await other.gateway.stop(5_000);
      // Before the key was idle long enough for its spare to be voided anyway.
      expect(performance.now() - last).toBeLessThan(SPARE_IDLE_MS);
      expect((await walletBalance(other.sql, account.walletId))?.heldNanos).toBe(0n);
      const voided = await other.sql<
        { n: number }[]
      >`select count(*)::int as n from holds where wallet_id = ${account.walletId.toString()}::int8 and outcome = 'voided'`;
      expect(voided[0]?.n).toBe(SPARES_PER_RUNNING_REQUEST - 1);
    } finally {
      await other.upstream.close();
    }
  });
});
