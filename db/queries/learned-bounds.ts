import type { Db } from '../sql.ts';

/**
 * Learned bounds (db/migrations/00022_capped_settlement.sql, upstream/learned-bounds.ts): per upstream and model, the
 * factor in basis points (10 000 = 1×) by which reported costs have exceeded their catalog bound.
 */

export type LearnedBound = { model: string; factorBps: number };
export type LearnedMove = { model: string; beforeBps: number; afterBps: number };

/** What one replica saw of a model since its last flush. */
export type BoundReports = { model: string; raiseToBps: number; insideReports: number };

export async function listLearnedBounds(db: Db, upstream: string): Promise<LearnedBound[]> {
  const rows = await db<{ model: string; factor_bps: number }[]>`
    select model, factor_bps from learned_bounds where upstream = ${upstream} and factor_bps > 10000`;
  return rows.map((row) => ({ model: row.model, factorBps: row.factor_bps }));
}

/** Every upstream's raised bounds, for /metrics. */
export async function allLearnedBounds(db: Db): Promise<(LearnedBound & { upstream: string })[]> {
  const rows = await db<{ upstream: string; model: string; factor_bps: number }[]>`
    select upstream, model, factor_bps from learned_bounds where factor_bps > 10000 order by upstream, model`;
  return rows.map((row) => ({ upstream: row.upstream, model: row.model, factorBps: row.factor_bps }));
}

/**
 * Folds a replica's reports in, in one statement, atomically with every other replica's: a raise
 * lifts the factor to at least `raiseToBps` (never above `maxBps`); without one, each report
 * inside the bound keeps `keepPerReport` of the excess over 1×. Returns the factors that moved.
 */
export async function foldBoundReports(
  db: Db,
  upstream: string,
  reports: readonly BoundReports[],
  maxBps: number,
  keepPerReport: number,
): Promise<LearnedMove[]> {
  if (reports.length === 0) return [];
  const rows = await db<{ model: string; before_bps: number | null; after_bps: number }[]>`
    with x as (select * from unnest(${reports.map((r) => r.model)}::text[], ${reports.map((r) => r.raiseToBps)}::int4[],
                                     ${reports.map((r) => r.insideReports)}::int4[]) as x(model, raise, inside)),
         old as (select b.model, b.factor_bps from learned_bounds b join x on b.upstream = ${upstream} and b.model = x.model),
         raised as (insert into learned_bounds (upstream, model, factor_bps)
                    select ${upstream}, x.model, least(${maxBps}::int4, x.raise) from x where x.raise > 10000
                    on conflict (upstream, model) do update
                      set factor_bps = greatest(learned_bounds.factor_bps, excluded.factor_bps), updated_at = now()
                    returning model, factor_bps),
         decayed as (update learned_bounds b
                     set factor_bps = 10000 + floor((b.factor_bps - 10000) * power(${keepPerReport}::float8, x.inside))::int4,
                         updated_at = now()
                     from x where b.upstream = ${upstream} and b.model = x.model and x.raise <= 10000 and x.inside > 0
                       and b.factor_bps > 10000
                     returning b.model, b.factor_bps)
    select n.model, old.factor_bps as before_bps, n.factor_bps as after_bps
    from (select * from raised union all select * from decayed) n left join old on old.model = n.model
    where old.factor_bps is distinct from n.factor_bps`;
  return rows.map((row) => ({ model: row.model, beforeBps: row.before_bps ?? 10_000, afterBps: row.after_bps }));
}
