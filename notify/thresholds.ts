import { type Logger, reasonOf } from '../app/log.ts';
import { createLookupCache } from '../app/lookup-cache.ts';
import {
  accountsOutOfStep,
  hasBalanceThresholds,
  syncBalanceThresholds,
  type Crossing,
} from '../db/queries/balance-thresholds.ts';
import type { Sql, TransactionSql } from '../db/sql.ts';
import { emitAccountEvent, money } from './events.ts';
import { noticeAccount } from './notices.ts';

/**
 * Low-balance alerts. A crossing is found by a check of the account's committed balance against
 * its thresholds (db/queries/balance-thresholds.ts), not inside the settlement that crossed it:
 * settlements are group-committed, many accounts per statement, in SQL that must stay lean, and an
 * alert is not money. The check is exact (the balance it reads is the ledger's, under the
 * thresholds' row locks) and idempotent (a crossing is counted once, and its notice is keyed by the
 * threshold and the crossing's number). It runs shortly after every settlement or credit of an
 * account that has thresholds, and every SWEEP_INTERVAL_MS for all of them, which catches anything
 * a replica missed (a restart, a change made by another process).
 *
 * What this cannot see: a dip below a threshold and back above it between two checks (within
 * CHECK_SPACING_MS of each other); the balance was never below it when anyone looked.
 */

/** At most this many checks per account per second and replica, however busy the account is. */
const CHECK_SPACING_MS = 250;
const SWEEP_INTERVAL_MS = 30_000;
const SWEEP_BATCH_ACCOUNTS = 500;
/** Whether an account has thresholds is remembered this long; the sweep covers changes within it. */
const HAS_THRESHOLDS_TTL_MS = 30_000;
const MAX_CACHED_ACCOUNTS = 50_000;

export type ThresholdWatch = {
  /** The account's balance may have changed: check it soon (cheap for accounts without thresholds). */
  nudge(accountId: string): void;
  /** Checks one account now; the crossings it found. */
  check(accountId: string): Promise<Crossing[]>;
  /** Checks every account whose thresholds disagree with its balance; how many were checked. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
};

async function notify(tx: TransactionSql, accountId: string, crossing: Crossing): Promise<void> {
  const account = await noticeAccount(tx, accountId);
  if (!account) return;
  const cause = `${crossing.id}:${crossing.crossings}`;
  await emitAccountEvent(tx, account, {
    type: 'balance.threshold_crossed',
    cause,
    data: {
      thresholdId: crossing.id,
      threshold: money(crossing.thresholdNanos),
      shareOfLastTopUpBps: crossing.shareBps,
      balance: money(crossing.balanceNanos),
    },
    email: {
      topic: 'balance_low',
      cause,
      data: {
        thresholdNanos: crossing.thresholdNanos.toString(),
        balanceNanos: crossing.balanceNanos.toString(),
        shareBps: crossing.shareBps,
      },
    },
  });
}

/** One account's check, in its own transaction: the crossings it found, each with its notices written. */
function checkAccount(sql: Sql, accountId: string): Promise<Crossing[]> {
  return sql.begin(async (tx) => {
    const crossings = await syncBalanceThresholds(tx, accountId);
    for (const crossing of crossings) await notify(tx, accountId, crossing);
    return crossings;
  });
}

/**
 * Runs `work` for a key at most once per spacing: a request while it runs, or within the spacing
 * after, asks for one more run at its end, however many requests came.
 */
function spacedByKey(work: (key: string) => Promise<void>, spacingMs: number, stopped: () => boolean) {
  const scheduled = new Map<string, { again: boolean }>();
  async function run(key: string, state: { again: boolean }): Promise<void> {
    state.again = false;
    await work(key);
    await Bun.sleep(spacingMs);
    if (state.again && !stopped()) return run(key, state);
    scheduled.delete(key);
  }
  return (key: string): Promise<void> => {
    const state = scheduled.get(key);
    if (state) {
      state.again = true;
      return Promise.resolve();
    }
    const fresh = { again: false };
    scheduled.set(key, fresh);
    return run(key, fresh);
  };
}

export function startThresholdWatch(sql: Sql, log: Logger, sweepIntervalMs = SWEEP_INTERVAL_MS): ThresholdWatch {
  const hasThresholds = createLookupCache<boolean>({ ttlMs: HAS_THRESHOLDS_TTL_MS, maxEntries: MAX_CACHED_ACCOUNTS });
  const running = new Set<Promise<unknown>>();
  let stopped = false;

  const check = (accountId: string) => checkAccount(sql, accountId);
  const track = <T>(work: Promise<T>) => {
    running.add(work);
    void work.finally(() => running.delete(work)).catch(() => {});
    return work;
  };
  const spaced = spacedByKey(
    (accountId) =>
      check(accountId).then(
        () => {},
        (error: unknown) => log.warn('balance alerts: check failed', { accountId, reason: reasonOf(error) }),
      ),
    CHECK_SPACING_MS,
    () => stopped,
  );

  async function nudgeKnown(accountId: string): Promise<void> {
    if (await hasThresholds.get(accountId, () => hasBalanceThresholds(sql, accountId))) await spaced(accountId);
  }

  async function sweep(): Promise<number> {
    const accounts = await accountsOutOfStep(sql, SWEEP_BATCH_ACCOUNTS);
    for (const accountId of accounts) await check(accountId);
    return accounts.length;
  }

  const timer = setInterval(() => {
    track(sweep()).catch((error: unknown) => log.warn('balance alerts: sweep failed', { reason: reasonOf(error) }));
  }, sweepIntervalMs);

  return {
    nudge(accountId) {
      if (stopped) return;
      track(nudgeKnown(accountId)).catch((error: unknown) =>
        log.warn('balance alerts: nudge failed', { accountId, reason: reasonOf(error) }),
      );
    },
    check,
    sweep,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.allSettled([...running]);
    },
  };
}
