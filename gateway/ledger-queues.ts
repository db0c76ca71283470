import { placeHolds, releaseHolds, type HoldOutcome, type HoldRequest } from '../db/queries/holds.ts';
import { insertRequestCharges, insertRequests, type RequestCharge, type RequestRecord } from '../db/queries/requests.ts';
import { postSettlements, type Settlement } from '../db/queries/settlements.ts';
import type { Sql } from '../db/sql.ts';
import { createBatcher } from './batcher.ts';
import type { Logger } from './log.ts';

/**
 * The gateway's money path. Holds are group-committed and awaited (a request is proxied only once
 * its hold is durable). Settlements are group-committed off the response's critical path and
 * retried until written: the hold already guarantees the money, so the client need not wait.
 */

export const HOLD_BATCH_SIZE = 64;
export const HOLDS_IN_FLIGHT = 4;
export const SETTLEMENT_BATCH_SIZE = 128;
export const SETTLEMENTS_IN_FLIGHT = 2;
/** Longer than this and the sweeper may already have expired the hold, so retrying is pointless. */
export const SETTLEMENT_RETRY_WINDOW_MS = 10 * 60_000;
const SETTLEMENT_RETRY_MAX_DELAY_MS = 5_000;

export type SettlementJob = {
  /** A post of the real charge, or null to void the holds (nothing was produced). */
  settlement: Settlement | null;
  request: RequestRecord;
  charges: RequestCharge[];
};

export type LedgerQueues = {
  hold(request: HoldRequest): Promise<HoldOutcome>;
  settle(job: SettlementJob): Promise<void>;
  readonly pending: number;
  drain(timeoutMs: number): Promise<boolean>;
};

async function writeSettlements(sql: Sql, jobs: SettlementJob[]): Promise<void[]> {
  await sql.begin(async (tx) => {
    // Settlements do not wait for the WAL flush: wallet rows are then locked for microseconds, not
    // a disk sync, so the next request's hold is not queued behind them. A database crash can lose
    // the last fraction of a second of settlements whole (never half of one); their holds reopen
    // and the sweeper expires them. Holds themselves are always committed synchronously.
    await tx`set local synchronous_commit = off`;
    const posts = jobs.flatMap((job) => (job.settlement ? [job.settlement] : []));
    const voids = jobs.filter((job) => !job.settlement).map((job) => job.request.id);
    // The usage log first: it locks no wallet, so wallet locks are held for as short a time as possible.
    await Promise.all([insertRequests(tx, jobs.map((job) => job.request)), insertRequestCharges(tx, jobs.flatMap((job) => job.charges))]);
    if (posts.length > 0) await postSettlements(tx, posts);
    if (voids.length > 0) await releaseHolds(tx, voids, 'voided');
  });
  return jobs.map(() => undefined);
}

export function createLedgerQueues(sql: Sql, log: Logger, onSettled: (job: SettlementJob) => void): LedgerQueues {
  const holds = createBatcher<HoldRequest, HoldOutcome>((items) => placeHolds(sql, items), { maxBatchSize: HOLD_BATCH_SIZE, maxInFlight: HOLDS_IN_FLIGHT });
  const settlements = createBatcher<SettlementJob, void>((jobs) => writeSettlements(sql, jobs), {
    maxBatchSize: SETTLEMENT_BATCH_SIZE,
    maxInFlight: SETTLEMENTS_IN_FLIGHT,
  });
  let retrying = 0;

  // A failed batch may fail because of one job; retrying each job alone isolates it.
  async function settleWithRetry(job: SettlementJob): Promise<void> {
    const deadline = Date.now() + SETTLEMENT_RETRY_WINDOW_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await (attempt === 0 ? settlements.submit(job) : writeSettlements(sql, [job]));
        onSettled(job);
        return;
      } catch (error) {
        if (Date.now() >= deadline) {
          log.error('settlement abandoned; the hold sweeper will resolve it', { requestId: job.request.id });
          return;
        }
        if (attempt === 0) log.warn('settlement failed; retrying', { requestId: job.request.id, reason: error instanceof Error ? error.message : String(error) });
        await Bun.sleep(Math.min(SETTLEMENT_RETRY_MAX_DELAY_MS, 50 * 2 ** attempt));
      }
    }
  }

  return {
    hold: (request) => holds.submit(request),
    async settle(job) {
      retrying += 1;
      try {
        await settleWithRetry(job);
      } finally {
        retrying -= 1;
      }
    },
    get pending() {
      return holds.pending + retrying;
    },
    async drain(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (retrying > 0 || holds.pending > 0) {
        if (Date.now() >= deadline) return false;
        await Bun.sleep(20);
      }
      return true;
    },
  };
}
