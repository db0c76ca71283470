import type { Logger } from '../app/log.ts';
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
      balance: money(crossing.balanceNanos),
    },
    email: {
      topic: 'balance_low',
      cause,
      data: { thresholdNanos: crossing.thresholdNanos.toString(), balanceNanos: crossing.balanceNanos.toString() },
    },
  });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function startThresholdWatch(sql: Sql, log: Logger, sweepIntervalMs = SWEEP_INTERVAL_MS): ThresholdWatch {
  const hasThresholds = createLookupCache<boolean>({ ttlMs: HAS_THRESHOLDS_TTL_MS, maxEntries: MAX_CACHED_ACCOUNTS });
  /** Accounts with a check running or waiting; a nudge for one of them only asks for one more check. */
  const scheduled = new Map<string, { again: boolean }>();
  const running = new Set<Promise<unknown>>();
  let stopped = false;

  const check = (accountId: string) =>
    sql.begin(async (tx) => {
      const crossings = await syncBalanceThresholds(tx, accountId);
      for (const crossing of crossings) await notify(tx, accountId, crossing);
      return crossings;
    });

  const track = <T>(work: Promise<T>) => {
    running.add(work);
    void work.finally(() => running.delete(work)).catch(() => {});
    return work;
  };

  async function checkSpaced(accountId: string): Promise<void> {
    const state = scheduled.get(accountId);
    if (!state) return;
    state.again = false;
    await check(accountId).catch((error: unknown) =>
      log.warn('balance alerts: check failed', { accountId, reason: message(error) }),
    );
    await Bun.sleep(CHECK_SPACING_MS);
    if (state.again && !stopped) return checkSpaced(accountId);
    scheduled.delete(accountId);
  }

  async function nudgeKnown(accountId: string): Promise<void> {
    if (!(await hasThresholds.get(accountId, () => hasBalanceThresholds(sql, accountId)))) return;
    const state = scheduled.get(accountId);
    if (state) {
      state.again = true;
      return;
    }
    scheduled.set(accountId, { again: false });
    await checkSpaced(accountId);
  }

  async function sweep(): Promise<number> {
    const accounts = await accountsOutOfStep(sql, SWEEP_BATCH_ACCOUNTS);
    for (const accountId of accounts) await check(accountId);
    return accounts.length;
  }

  const timer = setInterval(() => {
    track(sweep()).catch((error: unknown) => log.warn('balance alerts: sweep failed', { reason: message(error) }));
  }, sweepIntervalMs);

  return {
    nudge(accountId) {
      if (stopped) return;
      track(nudgeKnown(accountId)).catch((error: unknown) =>
        log.warn('balance alerts: nudge failed', { accountId, reason: message(error) }),
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
