import { placeWholeHolds, releaseHolds, type WholeHold } from '../db/queries/holds.ts';
import type { Sql } from '../db/sql.ts';
import type { Logger } from './log.ts';

/**
 * Spare holds: a key in back-to-back use gets its next requests' holds placed ahead of time, under
 * the ids those requests will carry, so a request finds its hold already durable when it arrives
 * and the hold's round trip and commit (about 0.4 ms at one connection) leave its critical path.
 * Every hold is still durable before its upstream call; it is only placed earlier.
 *
 * - A spare is sized like the request that prompted it and used only by a later request of the
 *   same key and wallet that needs no more; that request takes the spare's id as its own.
 * - A key gets spares once two of its requests come within `SPARE_IDLE_MS`, so a key used now and
 *   then never has any. It keeps up to `SPARES_PER_KEY` per replica, topped up in one statement
 *   whenever fewer than `SPARE_REFILL_BELOW` are left. Each spare statement is a commit that runs
 *   beside the requests in flight and slows them; measured at one connection, added over the
 *   floor: 0.45 ms placing each spare alone two ahead, 0.32–0.39 ms three at a time (four kept),
 *   0.24 ms seven at a time (eight kept).
 * - Only while at most `SPARES_PER_KEY` of the key's requests run at once. Spares save latency
 *   when requests follow each other; under concurrency the hold batches already share one commit,
 *   and each spare statement is one more commit on the same wallet row (measured at 64
 *   connections on one key: 24.2% of the floor's throughput without spares, 22.1% with).
 * - Spares are placed only while their wallet keeps `SPARE_HEADROOM` times what they reserve
 *   available after them, so they cannot refuse or shrink a request of another replica unless it
 *   needs that much more; on this replica, a hold refused or shrunk while the wallet has spares
 *   is tried again after they are voided (`surrender`).
 * - A spare is voided once its key has been idle `SPARE_IDLE_MS`, and all are voided on a
 *   graceful stop. After a crash the sweeper expires them like any hold, charging nothing.
 */

export const SPARE_IDLE_MS = 1_000;
export const SPARE_HEADROOM = 20;
export const SPARES_PER_KEY = 8;
export const SPARE_REFILL_BELOW = 2;
/** A spare's time-to-live is the request's plus this, so the request that takes it keeps all of its own. */
const SPARE_TTL_MARGIN_SECONDS = 5;
/** After a spare is declined (too little headroom), the key gets none for this long: a wallet running low is not asked again on every request. */
const DECLINED_BACKOFF_MS = 10_000;
const REAP_INTERVAL_MS = 250;

/** `ready` is set once the spare's statement has answered: true when the spare is durable, false when it was declined. */
type Spare = { requestId: string; walletId: bigint; amountNanos: bigint; placed: Promise<boolean>; ready: boolean | null };
type KeyState = { lastSeenAt: number; spares: Spare[]; declinedUntil: number; running: number };

export type TakenSpare = { requestId: string; amountNanos: bigint };
/** `spare` is the request's hold when one was taken; `done` must be called exactly once, when the request ends. */
export type SpareUse = { spare: TakenSpare | null; done: () => void };

export type SpareHolds = {
  /**
   * Called for each request of `keyId` that would hold `amountNanos` whole on `walletId`: a durable
   * spare that covers it, now the request's own hold (the request takes its id), or null. Either
   * way it readies the key's next spares when the key is in back-to-back use.
   */
  take(keyId: string, walletId: bigint, amountNanos: bigint): SpareUse;
  /** Voids this wallet's spares that no request has taken; true when there were any. */
  surrender(walletId: bigint): Promise<boolean>;
  /** Stops placing spares and voids those not taken. */
  close(): Promise<void>;
};

/**
 * Sending a statement costs the event loop about 0.1 ms (postgres.js writing to its socket); sent
 * from `take`, it delayed the request's own upstream call by that much. Sent once the request has
 * moved on (its upstream call is made within the same turn of the event loop), it overlaps the
 * wait for the upstream.
 */
function afterThisRequestMovesOn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function createSpareHolds(sql: Sql, log: Logger, holdTtlSeconds: number, now: () => number = performance.now.bind(performance)): SpareHolds {
  const keys = new Map<string, KeyState>();
  let closed = false;
  /** One statement for the lot: they are all placed, or (too little headroom) none. */
  function refill(state: KeyState, walletId: bigint, amountNanos: bigint, count: number): Spare[] {
    const holds: WholeHold[] = Array.from({ length: count }, () => ({ requestId: Bun.randomUUIDv7(), walletId, amountNanos, ttlSeconds: holdTtlSeconds + SPARE_TTL_MARGIN_SECONDS }));
    let spares: Spare[] = [];
    const placed = afterThisRequestMovesOn()
      .then(() => placeWholeHolds(sql, holds, SPARE_HEADROOM))
      .then((ids) => ids.size === holds.length)
      .catch((error: unknown) => {
        log.warn('spare holds not placed', { reason: error instanceof Error ? error.message : String(error) });
        return false;
      })
      .then((ok) => {
        for (const spare of spares) spare.ready = ok;
        if (!ok) state.declinedUntil = now() + DECLINED_BACKOFF_MS;
        return ok;
      });
    spares = holds.map((hold) => ({ requestId: hold.requestId, walletId, amountNanos, ready: null, placed }));
    return spares;
  }

  /** Voids spares once they are placed; one that cannot be voided now expires with the sweeper. */
  async function voidSpares(spares: readonly Spare[]): Promise<number> {
    const placed = (await Promise.all(spares.map(async (spare) => ((await spare.placed) ? spare.requestId : null)))).filter((id): id is string => id !== null);
    if (placed.length === 0) return 0;
    try {
      await releaseHolds(sql, placed, 'voided');
    } catch (error) {
      log.warn('spare holds not voided; the sweeper will expire them', { holds: placed.length, reason: error instanceof Error ? error.message : String(error) });
    }
    return placed.length;
  }

  const reaper = setInterval(() => {
    const idle: Spare[] = [];
    for (const [keyId, state] of keys) {
      if (now() - state.lastSeenAt < SPARE_IDLE_MS) continue;
      idle.push(...state.spares);
      state.spares = [];
      if (state.running === 0) keys.delete(keyId);
    }
    if (idle.length > 0) void voidSpares(idle);
  }, REAP_INTERVAL_MS);
  reaper.unref();

  return {
    take(keyId, walletId, amountNanos) {
      if (closed) return { spare: null, done: () => {} };
      const at = now();
      const state = keys.get(keyId) ?? { lastSeenAt: -Infinity, spares: [], declinedUntil: -Infinity, running: 0 };
      const backToBack = at - state.lastSeenAt < SPARE_IDLE_MS;
      state.lastSeenAt = at;
      state.running += 1;
      keys.set(keyId, state);
      const covering: Spare[] = [];
      const useless: Spare[] = [];
      for (const spare of state.spares) {
        const covers = spare.ready !== false && spare.walletId === walletId && spare.amountNanos >= amountNanos;
        (covers ? covering : useless).push(spare);
      }
      if (useless.length > 0) void voidSpares(useless);
      // Only a spare already durable is taken: waiting for one still in flight is no faster than holding anew.
      const takenAt = covering.findIndex((spare) => spare.ready === true);
      const taken = takenAt === -1 ? undefined : covering.splice(takenAt, 1)[0];
      state.spares = covering;
      if ((taken || backToBack) && covering.length < SPARE_REFILL_BELOW && state.running <= SPARES_PER_KEY && at >= state.declinedUntil) {
        covering.push(...refill(state, walletId, amountNanos, SPARES_PER_KEY - covering.length));
      }
      const done = () => {
        state.running -= 1;
      };
      return { spare: taken ? { requestId: taken.requestId, amountNanos: taken.amountNanos } : null, done };
    },
    async surrender(walletId) {
      const spares: Spare[] = [];
      for (const state of keys.values()) {
        spares.push(...state.spares.filter((spare) => spare.walletId === walletId));
        state.spares = state.spares.filter((spare) => spare.walletId !== walletId);
      }
      return (await voidSpares(spares)) > 0;
    },
    async close() {
      closed = true;
      clearInterval(reaper);
      const spares = [...keys.values()].flatMap((state) => state.spares);
      keys.clear();
      await voidSpares(spares);
    },
  };
}
