import { placeWholeHolds, releaseHolds, type WholeHold } from '../db/queries/holds.ts';
import type { Sql } from '../db/sql.ts';
import { type Logger, reasonOf } from '../app/log.ts';

/**
 * Spare holds: a key in back-to-back use gets its next requests' holds placed ahead of time, under
 * the ids those requests will carry, so a request finds its hold already durable when it arrives
 * and the hold's round trip and commit leave its critical path. Every hold is still durable
 * before its upstream call; it is only placed earlier.
 *
 * - A spare is sized like the request that prompted it and used only by a later request of the
 *   same key and wallet that needs no more; that request takes the spare's id as its own.
 * - A key gets spares once two of its requests come within `SPARE_IDLE_MS`, so a key used now and
 *   then never has any. Per replica it keeps `SPARES_PER_RUNNING_REQUEST` for each of its requests
 *   running at once, up to `SPARES_MAX_PER_KEY`, topped up in one statement (one at a time per
 *   key) whenever fewer than a `SPARE_REFILL_DIVISOR`th of that are left. At one connection that
 *   is eight spares, refilled seven at a time: added over the floor, 0.45 ms placing each spare
 *   alone, 0.24 ms seven at a time.
 * - Under concurrency the spares follow the load: at 64 connections on one key, a request that
 *   holds anew waits for the hold batch in flight and then its own (about 6 ms of its 11 ms
 *   there), while the spares are placed in batches of a hundred or more beside the requests
 *   (measured side by side: 29.6% of the floor's throughput against 25.0% with hold batches
 *   alone, 39.1% against 30.0% for plain chat).
 * - A request that finds only spares still being placed waits for one: it is never slower than
 *   holding anew, which queues behind the same commits, and it costs no statement.
 * - Spares are placed only while their wallet keeps `SPARE_HEADROOM` times what they reserve
 *   available after them, so they cannot refuse or shrink a request of another replica unless it
 *   needs that much more; on this replica, a hold refused or shrunk while the wallet has spares
 *   is tried again after they are voided (`surrender`). A declined top-up halves what the key may
 *   keep; one declined at a single connection's eight stops its spares for `DECLINED_BACKOFF_MS`.
 * - While the database fails statements, no spare is taken or readied (`pause`, for
 *   `SPARE_PAUSE_MS` after each failure): new paid requests then get the fast 503 a hold gets,
 *   rather than running on spares placed before the outage.
 * - A spare is voided once its key has been idle `SPARE_IDLE_MS` (a void that fails is tried
 *   again every `REAP_INTERVAL_MS`), and all are voided on a graceful stop. After a crash the
 *   sweeper expires them like any hold, charging nothing.
 */

export const SPARE_IDLE_MS = 1_000;
export const SPARE_HEADROOM = 20;
export const SPARES_PER_RUNNING_REQUEST = 8;
const SPARES_MAX_PER_KEY = 256;
const SPARE_REFILL_DIVISOR = 4;
/** A spare's time-to-live is the request's plus this, so the request that takes it keeps all of its own. */
const SPARE_TTL_MARGIN_SECONDS = 5;
/** After a single connection's spares are declined (too little headroom), the key gets none for this long: a wallet running low is not asked again on every request. */
const DECLINED_BACKOFF_MS = 10_000;
const SPARE_PAUSE_MS = 1_000;
const REAP_INTERVAL_MS = 250;

/** `ready` is set once the spare's statement has answered: true when the spare is durable, false when it was declined. */
type Spare = {
  requestId: string;
  walletId: bigint;
  amountNanos: bigint;
  placed: Promise<boolean>;
  ready: boolean | null;
};
/** `ceiling` is what the key may keep after declined top-ups; `refilling` while its top-up is in flight. */
type KeyState = {
  lastSeenAt: number;
  spares: Spare[];
  declinedUntil: number;
  running: number;
  refilling: boolean;
  ceiling: number;
};

/** `placed` resolves true once the spare is durable (at once for one already placed), false when it was declined. */
export type TakenSpare = { requestId: string; amountNanos: bigint; placed: Promise<boolean> };
/** `spare` is the request's hold when one was taken; `done` must be called exactly once, when the request ends. */
export type SpareUse = { spare: TakenSpare | null; done: () => void };

export type SpareHolds = {
  /**
   * Called for each request of `keyId` that would hold `amountNanos` whole on `walletId`: a spare
   * that covers it, durable or still being placed, now the request's own hold once placed (the
   * request takes its id), or null. Either way it readies the key's next spares when the key is
   * in back-to-back use.
   */
  take(keyId: string, walletId: bigint, amountNanos: bigint): SpareUse;
  /** The database failed a statement: no spare is taken or readied for `SPARE_PAUSE_MS`. */
  pause(): void;
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

export function createSpareHolds(
  sql: Sql,
  log: Logger,
  holdTtlSeconds: number,
  now: () => number = performance.now.bind(performance),
): SpareHolds {
  const keys = new Map<string, KeyState>();
  let closed = false;
  let pausedUntil = -Infinity;
  /** One statement for the lot: they are all placed, or (too little headroom) none. */
  function refill(state: KeyState, walletId: bigint, amountNanos: bigint, count: number, target: number): Spare[] {
    const holds: WholeHold[] = Array.from({ length: count }, () => ({
      requestId: Bun.randomUUIDv7(),
      walletId,
      amountNanos,
      ttlSeconds: holdTtlSeconds + SPARE_TTL_MARGIN_SECONDS,
    }));
    let spares: Spare[] = [];
    state.refilling = true;
    const placed = afterThisRequestMovesOn()
      .then(() => placeWholeHolds(sql, holds, SPARE_HEADROOM))
      .then((ids) => ids.size === holds.length)
      .catch((error: unknown) => {
        log.warn('spare holds not placed', { reason: reasonOf(error) });
        pausedUntil = now() + SPARE_PAUSE_MS;
        return false;
      })
      .then((ok) => {
        state.refilling = false;
        for (const spare of spares) spare.ready = ok;
        if (!ok && target > SPARES_PER_RUNNING_REQUEST)
          state.ceiling = Math.max(SPARES_PER_RUNNING_REQUEST, target >> 1);
        else if (!ok) state.declinedUntil = now() + DECLINED_BACKOFF_MS;
        return ok;
      });
    spares = holds.map((hold) => ({ requestId: hold.requestId, walletId, amountNanos, ready: null, placed }));
    return spares;
  }

  /** Placed spares whose void failed (the database away): the reaper tries them again. */
  let unvoided: string[] = [];

  /** Voids spares once they are placed; those that cannot be voided now are tried again until they are. */
  async function voidSpares(spares: readonly Spare[]): Promise<number> {
    const placed = (
      await Promise.all(spares.map(async (spare) => ((await spare.placed) ? spare.requestId : null)))
    ).filter((id): id is string => id !== null);
    await voidPlaced(placed, true);
    return placed.length;
  }

  async function voidPlaced(requestIds: readonly string[], firstAttempt: boolean): Promise<void> {
    if (requestIds.length === 0) return;
    try {
      await releaseHolds(sql, requestIds, 'voided');
    } catch (error) {
      if (firstAttempt)
        log.warn('spare holds not voided; retrying', {
          holds: requestIds.length,
          reason: reasonOf(error),
        });
      unvoided.push(...requestIds);
    }
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
    const retry = unvoided;
    unvoided = [];
    void voidPlaced(retry, false);
  }, REAP_INTERVAL_MS);
  reaper.unref();

  return {
    take(keyId, walletId, amountNanos) {
      const at = now();
      if (closed || at < pausedUntil) return { spare: null, done: () => {} };
      const state = keys.get(keyId) ?? {
        lastSeenAt: -Infinity,
        spares: [],
        declinedUntil: -Infinity,
        running: 0,
        refilling: false,
        ceiling: SPARES_MAX_PER_KEY,
      };
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
      // A key has one top-up in flight at a time, appended last, so the first spare is a durable
      // one when there is any, else one still being placed.
      const taken = covering.shift();
      state.spares = covering;
      const target = Math.min(state.ceiling, SPARES_PER_RUNNING_REQUEST * state.running);
      if (
        (taken || backToBack) &&
        !state.refilling &&
        covering.length < target / SPARE_REFILL_DIVISOR &&
        at >= state.declinedUntil
      ) {
        covering.push(...refill(state, walletId, amountNanos, target - covering.length, target));
      }
      const done = () => {
        state.running -= 1;
      };
      return {
        spare: taken ? { requestId: taken.requestId, amountNanos: taken.amountNanos, placed: taken.placed } : null,
        done,
      };
    },
    pause() {
      pausedUntil = now() + SPARE_PAUSE_MS;
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
