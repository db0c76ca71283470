import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { verifyLedger } from '../../db/queries/ledger-verify.ts';
import { chatAt, openStream, startCluster, waitFor, type Cluster } from './processes.ts';

/**
 * Replicas that stop: on SIGTERM a replica finishes and bills its open streams before it exits;
 * after a SIGKILL the survivors' sweeper settles what the dead one left open, from the upstream's
 * generation record when it has one, else by the documented estimate. Hold TTL and sweep period
 * are seconds here so the test sees the expiry happen.
 */

const HOLD_TTL_SECONDS = 4;
const SWEEP_INTERVAL_SECONDS = 1;
/** TTL, a sweep period, the generation lookup's retries (about 3 s) and slack for a busy machine. */
const SWEEP_WAIT_MS = 20_000;

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({
    count: 1,
    env: {
      TOLLGATE_HOLD_TTL_SECONDS: String(HOLD_TTL_SECONDS),
      TOLLGATE_SWEEP_INTERVAL_SECONDS: String(SWEEP_INTERVAL_SECONDS),
    },
  });
}, 60_000);

afterAll(async () => {
  await cluster.close();
});

type HoldRow = { request_id: string; outcome: string | null; charged: bigint | null };

async function holdsOf(requestIds: string[]): Promise<HoldRow[]> {
  return cluster.sql<
    HoldRow[]
  >`select request_id, outcome, charged_nanos as charged from holds where request_id = any(${requestIds}::text[]) order by request_id`;
}

async function usageTransfers(requestIds: string[]): Promise<number> {
  const [row] = await cluster.sql<
    { n: number }[]
  >`select count(*)::int4 as n from transfers where kind = 'usage' and cause = any(${requestIds}::text[])`;
  return row?.n ?? 0;
}

describe('a replica that stops with open streams', () => {
  test('on SIGTERM it refuses new connections, lets its open streams finish, bills them and exits 0', async () => {
    const victim = await cluster.start();
    const { key } = await cluster.customer('5');
    const streams = await Promise.all(
      Array.from({ length: 4 }, () => openStream(victim.url, key, '[[fake:chunks=12,delay_ms=100]] tell me')),
    );
    victim.signal('SIGTERM');
    await Bun.sleep(200);
    const refused = await fetch(`${victim.url}/healthz`).then(
      () => false,
      () => true,
    );
    const results = await Promise.all(streams.map((s) => s.done));
    expect(refused).toBe(true);
    expect(results.every((r) => r.complete)).toBe(true);
    expect(await victim.exited).toBe(0);
    const ids = streams.map((s) => s.requestId);
    // Billed before the process exited: no waiting for another replica.
    expect((await holdsOf(ids)).map((h) => h.outcome)).toEqual(['posted', 'posted', 'posted', 'posted']);
    expect(await usageTransfers(ids)).toBe(4);
    expect(victim.logs.some((line) => line.includes('"stopped"'))).toBe(true);
  }, 30_000);

  test('after SIGKILL no hold stays open: streams are settled from the generation record, else by the estimate; a request with no output charges nothing', async () => {
    const victim = await cluster.start();
    const { key, walletId } = await cluster.customer('5');
    const recorded = await Promise.all(
      [0, 1].map(() => openStream(victim.url, key, '[[fake:chunks=50,delay_ms=100]] a long answer')),
    );
    const unrecorded = await openStream(victim.url, key, '[[fake:chunks=50,delay_ms=100]] another long answer');
    // A request still waiting for its first byte when the replica dies, on a key of its own: the
    // key above is in back-to-back use, so its wallet also has spare holds that expire.
    const hung = await cluster.customer('5');
    void chatAt(victim.url, hung.key, { content: '[[fake:hang]] never answered' }).catch(() => undefined);
    const streamIds = [...recorded, unrecorded].map((s) => s.requestId);
    const notes = await waitFor(
      () =>
        cluster.sql<
          { request_id: string; generation_id: string }[]
        >`select request_id, generation_id from stream_starts where request_id = any(${streamIds}::text[])`,
      (rows) => rows.length === 3,
      5_000,
      25,
    );
    expect(notes.length).toBe(3);
    await waitFor(
      async () => cluster.upstream.active,
      (active) => active === 4,
      5_000,
      25,
    );
    // Some output has been produced (and billed by the upstream) before the replica dies.
    const produced = () =>
      Promise.resolve(notes.map((n) => cluster.upstream.generations.get(n.generation_id)?.completionTokens ?? 0));
    await waitFor(produced, (counts) => counts.every((n) => n >= 3), 5_000, 25);
    victim.signal('SIGKILL');
    expect(await victim.exited).not.toBe(0);
    // The upstream lost this generation's record: only the estimate remains.
    const lost = notes.find((n) => n.request_id === unrecorded.requestId)?.generation_id ?? '';
    await waitFor(
      async () => cluster.upstream.active,
      (active) => active === 0,
      5_000,
      25,
    );
    cluster.upstream.generations.delete(lost);

    const open = () =>
      cluster.sql<
        { n: number }[]
      >`select count(*)::int4 as n from holds where wallet_id in (${walletId.toString()}::int8, ${hung.walletId.toString()}::int8) and outcome is null`;
    expect((await waitFor(open, (rows) => rows[0]?.n === 0, SWEEP_WAIT_MS, 200))[0]?.n).toBe(0);
    const settled = await cluster.sql<
      { id: string; generation_id: string; completion_tokens: number; estimated: boolean; cost_nanos: bigint }[]
    >`
      select id, generation_id, completion_tokens, estimated, cost_nanos from requests where id = any(${streamIds}::text[])`;
    for (const stream of recorded) {
      const row = settled.find((r) => r.id === stream.requestId);
      const generation = cluster.upstream.generations.get(row?.generation_id ?? '');
      expect(generation?.cancelled).toBe(true);
      expect(row).toMatchObject({ estimated: false, completion_tokens: generation?.completionTokens });
      expect(row?.completion_tokens).toBeGreaterThan(0);
    }
    expect(settled.find((r) => r.id === unrecorded.requestId)).toMatchObject({ estimated: true, completion_tokens: 1 });
    expect((await holdsOf(streamIds)).map((h) => h.outcome)).toEqual(['posted', 'posted', 'posted']);
    expect(await usageTransfers(streamIds)).toBe(3);
    const expired =
      await cluster.sql`select 1 from holds where wallet_id = ${hung.walletId.toString()}::int8 and outcome = 'expired'`;
    expect(expired.length).toBe(1);
    // Spares no request took expire too, charging nothing: no request row, no usage.
    const spares = await cluster.sql<{ request_id: string }[]>`
      select request_id from holds h where wallet_id = ${walletId.toString()}::int8 and outcome = 'expired'
        and not exists (select 1 from requests r where r.id = h.request_id)
        and not exists (select 1 from transfers t where t.cause = h.request_id)`;
    const expiredHere =
      await cluster.sql`select 1 from holds where wallet_id = ${walletId.toString()}::int8 and outcome = 'expired'`;
    expect(expiredHere.length).toBe(spares.length);
    expect((await verifyLedger(cluster.sql)).violations).toEqual([]);
    // Once their holds are resolved and a TTL has passed, the sweeper deletes the notes.
    const notesLeft = () =>
      cluster.sql<
        { n: number }[]
      >`select count(*)::int4 as n from stream_starts where request_id = any(${streamIds}::text[])`;
    expect((await waitFor(notesLeft, (rows) => rows[0]?.n === 0, SWEEP_WAIT_MS, 250))[0]?.n).toBe(0);
  }, 50_000);
});
