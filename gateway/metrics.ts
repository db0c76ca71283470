import type { Elysia } from 'elysia';
import { allLearnedBounds } from '../db/queries/learned-bounds.ts';
import type { Sql } from '../db/sql.ts';
import type { RequestContext } from '../plugins/context.ts';
import type { Logger } from '../app/log.ts';
import { createChannelMetrics, type ChannelSource } from '../upstream/channel-metrics.ts';

/**
 * `/metrics` in Prometheus text format and one structured log line per request. Request counters
 * and the latency histogram are per replica (Prometheus sums them); holds open, credit sold and
 * spent, write-offs, distrusted reports and learned hold bounds are read from PostgreSQL at scrape time, at most once per DB_GAUGE_TTL_MS and bounded by
 * DB_PROBE_TIMEOUT_MS, so a slow database makes a scrape report `tollgate_database_up 0`, not hang.
 */

/** Seconds; time to the response head (for a stream, its first byte), which is what a client waits on. */
const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;
const DB_GAUGE_TTL_MS = 10_000;
const DB_PROBE_TIMEOUT_MS = 1_000;

type Histogram = { counts: number[]; sum: number; count: number };
type DbGauges = {
  up: boolean;
  holdsOpen: number;
  heldNanos: bigint;
  soldNanos: bigint;
  spentNanos: bigint;
  writtenOffNanos: bigint;
  distrusted: number;
  learned: { upstream: string; model: string; factorBps: number }[];
};
const NO_DB_GAUGES: Omit<DbGauges, 'up'> = {
  holdsOpen: 0,
  heldNanos: 0n,
  soldNanos: 0n,
  spentNanos: 0n,
  writtenOffNanos: 0n,
  distrusted: 0,
  learned: [],
};

export type Metrics = {
  observe(ctx: RequestContext, status: number): void;
  render(): Promise<string>;
  /** `channels`: the gateway's channels and breakers, shown beside the request counters. */
  mount(app: Elysia, channels?: ChannelSource): void;
};

export type MetricsSources = { sql: Sql; log: Logger; redisShared?: () => boolean };

const label = (value: string) => value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');

async function readDbGauges(sql: Sql): Promise<DbGauges> {
  const query = async (): Promise<DbGauges> => {
    const [holds] = await sql<
      { open: string; held: string }[]
    >`select count(*)::text as open, coalesce(sum(amount_nanos), 0)::text as held from holds where resolved_at is null`;
    const [credit] = await sql<{ sold: string; spent: string }[]>`
      select coalesce(sum(e.amount_nanos) filter (where t.kind = 'purchase'), 0)::text as sold,
             coalesce(-sum(e.amount_nanos) filter (where t.kind = 'usage'), 0)::text as spent
      from entries e join transfers t on t.id = e.transfer_id join wallets w on w.id = e.wallet_id
      where w.kind = 'customer'`;
    // Write-offs are the uncollected books' balances (cached on the wallet rows); distrusted
    // reports are counted through their partial index; learned bounds are a few rows.
    const [loss] = await sql<{ written_off: string; distrusted: string }[]>`
      select (select coalesce(-sum(paid_nanos), 0) from wallets where kind = 'uncollected')::text as written_off,
             (select count(*) from requests where usage_distrusted)::text as distrusted`;
    return {
      up: true,
      holdsOpen: Number(holds?.open ?? 0),
      heldNanos: BigInt(holds?.held ?? 0),
      soldNanos: BigInt(credit?.sold ?? 0),
      spentNanos: BigInt(credit?.spent ?? 0),
      writtenOffNanos: BigInt(loss?.written_off ?? 0),
      distrusted: Number(loss?.distrusted ?? 0),
      learned: await allLearnedBounds(sql),
    };
  };
  const timeout = Bun.sleep(DB_PROBE_TIMEOUT_MS).then((): never => {
    throw new Error('timeout');
  });
  return Promise.race([query(), timeout]);
}

/** What the operator lost to upstream reports above their holds, and what it learned from them (issue 17). */
function lossLines(db: DbGauges): string[] {
  return [
    '# HELP tollgate_written_off_nanos Charges above what a wallet could pay, written off to uncollected books, in nano-dollars.',
    '# TYPE tollgate_written_off_nanos gauge',
    `tollgate_written_off_nanos ${db.writtenOffNanos}`,
    '# HELP tollgate_usage_distrusted_requests Requests whose reported usage or cost was implausible, settled by the estimate.',
    '# TYPE tollgate_usage_distrusted_requests gauge',
    `tollgate_usage_distrusted_requests ${db.distrusted}`,
    '# HELP tollgate_learned_hold_factor How far holds are raised for a model after its upstream reported above the catalog bound (1 = not raised).',
    '# TYPE tollgate_learned_hold_factor gauge',
    ...db.learned.map(
      (b) =>
        `tollgate_learned_hold_factor{upstream="${label(b.upstream)}",model="${label(b.model)}"} ${b.factorBps / 10_000}`,
    ),
  ];
}

/**
 * An upstream that answered 5xx, or one that never answered: the proxy's upstream status is then
 * still 0 and it refuses with 502 (unreachable) or 504 (timeout).
 */
function upstreamFailure(ctx: RequestContext, status: number): 'status_5xx' | 'unreachable' | 'timeout' | undefined {
  const upstreamStatus = ctx.upstream?.status;
  if (upstreamStatus === undefined) return undefined;
  if (upstreamStatus >= 500) return 'status_5xx';
  if (upstreamStatus !== 0) return undefined;
  if (status === 502) return 'unreachable';
  return status === 504 ? 'timeout' : undefined;
}

export function createMetrics(sources: MetricsSources): Metrics {
  const requests = new Map<string, number>();
  const latency = new Map<string, Histogram>();
  const upstreamErrors = new Map<string, number>();
  let gauges: { at: number; value: DbGauges } | undefined;
  let channelSource: ChannelSource | undefined;
  const channelMetrics = createChannelMetrics(() => channelSource);

  const dbGauges = async (): Promise<DbGauges> => {
    if (gauges && Date.now() - gauges.at < DB_GAUGE_TTL_MS && gauges.value.up) return gauges.value;
    const value = await readDbGauges(sources.sql).catch(
      (): DbGauges => ({
        ...(gauges?.value ?? NO_DB_GAUGES),
        up: false,
      }),
    );
    gauges = { at: Date.now(), value };
    return value;
  };

  const metrics: Metrics = {
    observe(ctx, status) {
      const route = ctx.route.path;
      const latencyMs = performance.now() - ctx.startedAt;
      const key = `${route}\u0000${status}`;
      requests.set(key, (requests.get(key) ?? 0) + 1);
      const histogram = latency.get(route) ?? { counts: LATENCY_BUCKETS_SECONDS.map(() => 0), sum: 0, count: 0 };
      LATENCY_BUCKETS_SECONDS.forEach((bound, i) => {
        if (latencyMs / 1000 <= bound) histogram.counts[i] = (histogram.counts[i] ?? 0) + 1;
      });
      histogram.sum += latencyMs / 1000;
      histogram.count += 1;
      latency.set(route, histogram);
      const upstreamStatus = ctx.upstream?.status;
      const failure = upstreamFailure(ctx, status);
      if (failure)
        upstreamErrors.set(`${route}\u0000${failure}`, (upstreamErrors.get(`${route}\u0000${failure}`) ?? 0) + 1);
      const attempts = ctx.upstream?.attempts ?? [];
      channelMetrics.count(attempts);
      sources.log.info('request', {
        requestId: ctx.id,
        route,
        status,
        latencyMs: Math.round(latencyMs),
        model: ctx.model?.id,
        accountId: ctx.principal?.key.accountId,
        upstreamStatus,
        channel: ctx.upstream?.served?.channel.name,
        attempts: attempts.length > 1 ? attempts.length : undefined,
      });
    },
    async render() {
      const lines: string[] = [];
      lines.push(
        '# HELP tollgate_requests_total Requests answered, by route and status.',
        '# TYPE tollgate_requests_total counter',
      );
      for (const [key, value] of requests) {
        const [route = '', status = ''] = key.split('\u0000');
        lines.push(`tollgate_requests_total{route="${label(route)}",status="${status}"} ${value}`);
      }
      lines.push(
        '# HELP tollgate_request_duration_seconds Time to the response head, by route.',
        '# TYPE tollgate_request_duration_seconds histogram',
      );
      for (const [route, h] of latency) {
        for (const [i, bound] of LATENCY_BUCKETS_SECONDS.entries()) {
          lines.push(
            `tollgate_request_duration_seconds_bucket{route="${label(route)}",le="${bound}"} ${h.counts[i] ?? 0}`,
          );
        }
        lines.push(`tollgate_request_duration_seconds_bucket{route="${label(route)}",le="+Inf"} ${h.count}`);
        lines.push(
          `tollgate_request_duration_seconds_sum{route="${label(route)}"} ${h.sum}`,
          `tollgate_request_duration_seconds_count{route="${label(route)}"} ${h.count}`,
        );
      }
      lines.push(
        '# HELP tollgate_upstream_errors_total Upstream failures by route and kind: status_5xx, unreachable, timeout.',
        '# TYPE tollgate_upstream_errors_total counter',
      );
      for (const [key, value] of upstreamErrors) {
        const [route = '', kind = ''] = key.split('\u0000');
        lines.push(`tollgate_upstream_errors_total{route="${label(route)}",kind="${kind}"} ${value}`);
      }
      lines.push(...channelMetrics.lines());
      const db = await dbGauges();
      lines.push(
        '# HELP tollgate_database_up 1 when PostgreSQL answered the last probe.',
        '# TYPE tollgate_database_up gauge',
        `tollgate_database_up ${db.up ? 1 : 0}`,
      );
      if (sources.redisShared) {
        lines.push(
          '# HELP tollgate_redis_up 1 when rate limits are shared through Redis, 0 while this replica uses its local share.',
          '# TYPE tollgate_redis_up gauge',
          `tollgate_redis_up ${sources.redisShared() ? 1 : 0}`,
        );
      }
      lines.push(
        '# HELP tollgate_holds_open Holds not yet posted, voided or expired.',
        '# TYPE tollgate_holds_open gauge',
        `tollgate_holds_open ${db.holdsOpen}`,
      );
      lines.push(
        '# HELP tollgate_held_nanos Credit reserved by open holds, in nano-dollars.',
        '# TYPE tollgate_held_nanos gauge',
        `tollgate_held_nanos ${db.heldNanos}`,
      );
      lines.push(
        '# HELP tollgate_credit_sold_nanos Credit bought by customers, in nano-dollars.',
        '# TYPE tollgate_credit_sold_nanos gauge',
        `tollgate_credit_sold_nanos ${db.soldNanos}`,
      );
      lines.push(
        '# HELP tollgate_credit_spent_nanos Credit customers spent on usage, in nano-dollars.',
        '# TYPE tollgate_credit_spent_nanos gauge',
        `tollgate_credit_spent_nanos ${db.spentNanos}`,
      );
      lines.push(...lossLines(db));
      return `${lines.join('\n')}\n`;
    },
    mount(app, channels) {
      channelSource = channels;
      app.get(
        '/metrics',
        async () =>
          new Response(await metrics.render(), {
            headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' },
          }),
      );
    },
  };
  return metrics;
}
