import type { Db } from '../sql.ts';

/**
 * Started streams (db/migrations/00009): the note a replica leaves when a stream's first chunk
 * arrives, so that if it dies another replica can settle the request's hold from the upstream's
 * generation record instead of expiring it.
 */

export type StreamStart = {
  requestId: string;
  generationId: string;
  tenantId: string;
  accountId: string;
  apiKeyId: string | null;
  walletId: bigint;
  route: string;
  /** The route's wire protocol (protocols/registry.ts); null in notes older than it. */
  protocol: string | null;
  model: string;
  markupsBps: number[];
  /** The serving channel's price (the hold's, in notes older than channels): prompt and completion per million tokens, per request, per media item. */
  priceNanos: [bigint, bigint, bigint, bigint];
  promptTokensEstimate: number;
  promptTokensBound: number;
  mediaItems: number;
  holdNanos: bigint;
  /** The channel serving the stream; null in notes older than channels (the default channel). */
  channelId: string | null;
  startedAt: Date;
};

/** Records many starts in one statement; a replay of the same request is ignored. */
export async function insertStreamStarts(db: Db, rows: readonly Omit<StreamStart, 'startedAt'>[]): Promise<void> {
  if (rows.length === 0) return;
  const column = <T>(pick: (row: Omit<StreamStart, 'startedAt'>) => T) => rows.map(pick);
  // Arrays of arrays travel as Postgres array literals, one per row, cast back in SQL.
  const literal = (values: readonly (number | bigint)[]) => `{${values.join(',')}}`;
  await db`
    insert into stream_starts (request_id, generation_id, tenant_id, account_id, api_key_id, wallet_id, route, model,
      markups_bps, price_nanos, prompt_tokens_estimate, prompt_tokens_bound, media_items, hold_nanos, channel_id, protocol)
    select r, g, t, a, k, w, ro, m, mk::int4[], p::int8[], pe, pb, mi, h, ch, pr from unnest(
      ${column((r) => r.requestId)}::text[], ${column((r) => r.generationId)}::text[], ${column((r) => r.tenantId)}::uuid[],
      ${column((r) => r.accountId)}::uuid[], ${column((r) => r.apiKeyId)}::uuid[], ${column((r) => r.walletId.toString())}::int8[],
      ${column((r) => r.route)}::text[], ${column((r) => r.model)}::text[], ${column((r) => literal(r.markupsBps))}::text[],
      ${column((r) => literal(r.priceNanos))}::text[], ${column((r) => r.promptTokensEstimate)}::int4[], ${column((r) => r.promptTokensBound)}::int4[],
      ${column((r) => r.mediaItems)}::int4[], ${column((r) => r.holdNanos.toString())}::int8[],
      ${column((r) => r.channelId)}::uuid[], ${column((r) => r.protocol)}::text[])
      as x(r, g, t, a, k, w, ro, m, mk, p, pe, pb, mi, h, ch, pr)
    on conflict (request_id) do nothing`;
}

type StreamStartRow = {
  request_id: string;
  generation_id: string;
  tenant_id: string;
  account_id: string;
  api_key_id: string | null;
  wallet_id: bigint;
  route: string;
  protocol: string | null;
  model: string;
  markups_bps: number[];
  price_nanos: string[];
  prompt_tokens_estimate: number;
  prompt_tokens_bound: number;
  media_items: number;
  hold_nanos: bigint;
  channel_id: string | null;
  started_at: Date;
};

/** The started streams among these requests. */
export async function findStreamStarts(db: Db, requestIds: readonly string[]): Promise<StreamStart[]> {
  if (requestIds.length === 0) return [];
  const rows = await db<StreamStartRow[]>`
    select request_id, generation_id, tenant_id, account_id, api_key_id, wallet_id, route, protocol, model, markups_bps,
      price_nanos::text[] as price_nanos, prompt_tokens_estimate, prompt_tokens_bound, media_items, hold_nanos, channel_id,
      started_at
    from stream_starts where request_id = any(${requestIds}::text[])`;
  return rows.map((row) => ({
    requestId: row.request_id,
    generationId: row.generation_id,
    tenantId: row.tenant_id,
    accountId: row.account_id,
    apiKeyId: row.api_key_id,
    walletId: row.wallet_id,
    route: row.route,
    protocol: row.protocol,
    model: row.model,
    markupsBps: row.markups_bps,
    priceNanos: [0, 1, 2, 3].map((i) => BigInt(row.price_nanos[i] ?? '0')) as StreamStart['priceNanos'],
    promptTokensEstimate: row.prompt_tokens_estimate,
    promptTokensBound: row.prompt_tokens_bound,
    mediaItems: row.media_items,
    holdNanos: row.hold_nanos,
    channelId: row.channel_id,
    startedAt: row.started_at,
  }));
}

/** Deletes notes older than the given age whose request has no open hold left; returns how many. */
export async function pruneStreamStarts(db: Db, olderThanSeconds: number, limit: number): Promise<number> {
  const rows = await db`
    delete from stream_starts where request_id in (
      select s.request_id from stream_starts s
      where s.started_at < now() - make_interval(secs => ${olderThanSeconds})
        and not exists (select 1 from holds h where h.request_id = s.request_id and h.outcome is null)
      order by s.started_at limit ${limit})
    returning 1`;
  return rows.length;
}
