import { NO_LEARNED_FACTOR_BPS } from '../core/hold-estimate.ts';
import { foldBoundReports, listLearnedBounds, type BoundReports } from '../db/queries/learned-bounds.ts';
import type { Sql } from '../db/sql.ts';
import { type Logger, reasonOf } from '../app/log.ts';

/**
 * Learned bounds: for each upstream and model, how far the upstream's reported costs have exceeded
 * the catalog bound of their own usage (a web search fee or a dearer provider the catalog does not
 * show), kept as a factor that every replica applies to that model's holds, so that after a burst
 * of under-held requests the next ones hold enough. Shared through PostgreSQL: each replica folds
 * what it saw into the table about once a second (one statement, atomic with the others) and
 * re-reads it as often. An overshoot raises the factor at once to its ratio plus a margin, up to
 * MAX_LEARNED_FACTOR_BPS; reports inside the bound let it decay slowly, by 1/DECAY_REPORTS of its
 * excess over 1× per report. A move is logged and shown on /metrics (tollgate_learned_hold_factor).
 */

/** 16×: a hold is never raised further by learning; an upstream beyond it is written off, and flagged beyond 100×. */
export const MAX_LEARNED_FACTOR_BPS = 160_000;
/** A raise lands 25% above the overshoot seen, so the same overshoot again is covered with room. */
export const LEARNING_MARGIN_BPS = 12_500;
/** Reports inside the bound it takes to shed about 63% of a learned excess. */
export const DECAY_REPORTS = 10_000;
export const LEARNED_FLUSH_INTERVAL_MS = 1_000;
/** Models whose reports one replica keeps between flushes; beyond it, new models wait for the next flush. */
const MAX_PENDING_MODELS = 10_000;
/** A decay is logged when it has moved the factor by this share since it was last logged, and when it ends. */
const LOG_STEP_BPS = 1_000;

export type LearnedBounds = {
  /** The factor in basis points (10 000 = 1×) this model's holds are raised by. */
  factorBps(modelId: string): number;
  /** A trusted report: its reported cost against the catalog bound of its own usage, in femto-dollars. */
  observe(modelId: string, reportedFemtos: bigint, boundFemtos: bigint): void;
  /** Folds what this replica saw into the shared table and re-reads it (also run every second). */
  flush(): Promise<void>;
  stop(): Promise<void>;
};

export type LearnedBoundsOptions = { sql: Sql; upstream: string; log: Logger; background: boolean };

/** The overshoot ratio of a report in basis points, rounded up; a report against a zero bound is no measure. */
function ratioBps(reportedFemtos: bigint, boundFemtos: bigint): number {
  if (boundFemtos <= 0n) return NO_LEARNED_FACTOR_BPS;
  const ratio = (reportedFemtos * 10_000n + boundFemtos - 1n) / boundFemtos;
  return ratio > BigInt(MAX_LEARNED_FACTOR_BPS) ? MAX_LEARNED_FACTOR_BPS : Number(ratio);
}

export async function createLearnedBounds(options: LearnedBoundsOptions): Promise<LearnedBounds> {
  let factors = new Map<string, number>();
  const pending = new Map<string, BoundReports>();
  const logged = new Map<string, number>();
  const reload = async () => {
    factors = new Map((await listLearnedBounds(options.sql, options.upstream)).map((b) => [b.model, b.factorBps]));
  };
  const report = (model: string, beforeBps: number, afterBps: number) => {
    const last = logged.get(model) ?? beforeBps;
    if (afterBps > beforeBps || Math.abs(afterBps - last) >= LOG_STEP_BPS || afterBps === NO_LEARNED_FACTOR_BPS) {
      logged.set(model, afterBps);
      const fields = { upstream: options.upstream, model, factorBps: afterBps, previousBps: beforeBps };
      if (afterBps > beforeBps) options.log.warn('learned hold bound raised', fields);
      else options.log.info('learned hold bound decayed', fields);
    }
  };
  const flush = async () => {
    const reports = [...pending.values()];
    pending.clear();
    const keep = 1 - 1 / DECAY_REPORTS;
    const moves = await foldBoundReports(options.sql, options.upstream, reports, MAX_LEARNED_FACTOR_BPS, keep);
    for (const move of moves) report(move.model, move.beforeBps, move.afterBps);
    await reload();
  };
  await reload();
  let running: Promise<void> = Promise.resolve();
  const timer = options.background
    ? setInterval(() => {
        running = flush().catch((error: unknown) => {
          options.log.warn('learned bounds not saved; retrying', {
            reason: reasonOf(error),
          });
        });
      }, LEARNED_FLUSH_INTERVAL_MS)
    : undefined;
  return {
    factorBps: (modelId) => factors.get(modelId) ?? NO_LEARNED_FACTOR_BPS,
    observe(modelId, reportedFemtos, boundFemtos) {
      const entry = pending.get(modelId) ?? { model: modelId, raiseToBps: NO_LEARNED_FACTOR_BPS, insideReports: 0 };
      if (!pending.has(modelId) && pending.size >= MAX_PENDING_MODELS) return;
      if (reportedFemtos > boundFemtos) {
        const raise = Math.ceil((ratioBps(reportedFemtos, boundFemtos) * LEARNING_MARGIN_BPS) / 10_000);
        entry.raiseToBps = Math.max(entry.raiseToBps, Math.min(raise, MAX_LEARNED_FACTOR_BPS));
        // The raise counts in this replica at once; the others see it after the flush.
        factors.set(modelId, Math.max(factors.get(modelId) ?? NO_LEARNED_FACTOR_BPS, entry.raiseToBps));
      } else entry.insideReports += 1;
      pending.set(modelId, entry);
    },
    flush,
    async stop() {
      if (timer) clearInterval(timer);
      await running;
      await flush().catch(() => {});
    },
  };
}
