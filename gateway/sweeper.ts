import { overdueHoldRequests, releaseHolds } from '../db/queries/holds.ts';
import type { Sql } from '../db/sql.ts';
import type { Logger } from './log.ts';

/**
 * Resolves holds that outlived their time-to-live (their request's process died, or its
 * settlement could not be written in time), so no credit stays reserved forever.
 */

export const SWEEP_INTERVAL_MS = 30_000;
const SWEEP_BATCH_LIMIT = 500;

export async function sweepOverdueHolds(sql: Sql): Promise<number> {
  const requestIds = await overdueHoldRequests(sql, SWEEP_BATCH_LIMIT);
  if (requestIds.length === 0) return 0;
  const released = await releaseHolds(sql, requestIds, 'expired');
  return new Set(released.map((hold) => hold.requestId)).size;
}

export function startSweeper(sql: Sql, log: Logger): () => void {
  const timer = setInterval(() => {
    sweepOverdueHolds(sql).then(
      (count) => {
        if (count > 0) log.warn('expired overdue holds', { requests: count });
      },
      (error: unknown) => log.warn('hold sweep failed', { reason: error instanceof Error ? error.message : String(error) }),
    );
  }, SWEEP_INTERVAL_MS);
  timer.unref?.();
  return () => clearInterval(timer);
}
