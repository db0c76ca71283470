import { inTransaction, type Db, type TransactionSql } from '../sql.ts';

/**
 * Counters of sign-in and sign-up attempts (schema/throttle.ts holds the policy). An attempt is
 * counted before the password is checked, under the row's lock, so a burst of parallel attempts
 * is judged one by one; a success gives its count back.
 */

export type ThrottlePolicy = {
  /** Failures allowed before any delay. */
  freeFailures: number;
  /** Failures that start a lockout. */
  lockoutFailures: number;
  /** The delay after the first failure past the free ones; each further failure doubles it. */
  baseDelaySeconds: number;
  maxDelaySeconds: number;
  lockoutSeconds: number;
  /** How long a failure is remembered; longer than the lockout, so a lockout ends with a fresh count. */
  memorySeconds: number;
};

export type ThrottleCounter = { key: string; policy: ThrottlePolicy };

type Row = { failures: number; last_failure_at: Date; locked_until: Date | null; now: Date };

/** Stale rows removed per new counter: enough to keep up with any rate at which counters are made. */
const STALE_ROWS_PER_INSERT = 100;

/** The delay an attempt must keep after `failures` failures, in seconds. */
function delaySeconds(policy: ThrottlePolicy, failures: number): number {
  if (failures < policy.freeFailures) return 0;
  return Math.min(policy.baseDelaySeconds * 2 ** (failures - policy.freeFailures), policy.maxDelaySeconds);
}

/** Failures that still count at `now`: none once the memory window or a lockout has passed. */
function liveFailures(row: Row, policy: ThrottlePolicy): number {
  const ended = row.locked_until !== null && row.locked_until <= row.now;
  const forgotten = row.now.getTime() - row.last_failure_at.getTime() >= policy.memorySeconds * 1000;
  return ended || forgotten ? 0 : row.failures;
}

/** Rows another attempt holds are skipped: waiting for them could deadlock two attempts. */
async function forgetStale(tx: TransactionSql, memorySeconds: number): Promise<void> {
  await tx`
    delete from sign_in_throttle where key in (
      select key from sign_in_throttle
      where last_failure_at < now() - make_interval(secs => ${memorySeconds})
        and (locked_until is null or locked_until < now())
      limit ${STALE_ROWS_PER_INSERT} for update skip locked)`;
}

/** Counts one attempt on the counter, or answers how many seconds it must wait (counting nothing). */
async function countOne(tx: TransactionSql, { key, policy }: ThrottleCounter): Promise<number> {
  const inserted = await tx`
    insert into sign_in_throttle (key, failures, last_failure_at) values (${key}, 0, now()) on conflict do nothing`;
  if (inserted.count > 0) await forgetStale(tx, policy.memorySeconds);
  const [row] = await tx<Row[]>`
    select failures, last_failure_at, locked_until, now() as now from sign_in_throttle where key = ${key} for update`;
  if (!row) throw new Error(`throttle row ${key} vanished`);
  const failures = liveFailures(row, policy);
  const lockedMs = row.locked_until && row.locked_until > row.now ? row.locked_until.getTime() : 0;
  const delayedMs = failures > 0 ? row.last_failure_at.getTime() + delaySeconds(policy, failures) * 1000 : 0;
  const waitMs = Math.max(lockedMs, delayedMs) - row.now.getTime();
  if (waitMs > 0) return Math.ceil(waitMs / 1000);
  const counted = failures + 1;
  const lockout = counted >= policy.lockoutFailures ? policy.lockoutSeconds : null;
  await tx`
    update sign_in_throttle set failures = ${counted}, last_failure_at = now(),
      locked_until = case when ${lockout}::int4 is null then null else now() + make_interval(secs => ${lockout}::int4) end
    where key = ${key}`;
  return 0;
}

class MustWait extends Error {
  constructor(readonly seconds: number) {
    super(`wait ${seconds} s`);
  }
}

/**
 * Counts the attempt on every counter, or on none: 0 when it may go ahead, else the seconds the
 * first counter that refuses still needs. Callers list counters in one order (address, then
 * account), so two attempts never wait on each other's rows.
 */
export async function takeAttempt(db: Db, counters: readonly ThrottleCounter[]): Promise<number> {
  try {
    await inTransaction(db, async (tx) => {
      for (const counter of counters) {
        const seconds = await countOne(tx, counter);
        if (seconds > 0) throw new MustWait(seconds);
      }
    });
    return 0;
  } catch (error) {
    if (error instanceof MustWait) return error.seconds;
    throw error;
  }
}

/** A success gives back the attempt it was counted as. */
export async function giveBack(db: Db, keys: readonly string[]): Promise<void> {
  await db`update sign_in_throttle set failures = greatest(failures - 1, 0) where key = any(${keys}::text[])`;
}

/** A successful sign-in clears its account's counter. */
export async function clearCounter(db: Db, key: string): Promise<void> {
  await db`delete from sign_in_throttle where key = ${key}`;
}
