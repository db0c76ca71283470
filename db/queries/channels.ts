import { type ModelPrice, basicPrice } from '../../core/cost.ts';
import type { Db } from '../sql.ts';

/**
 * Upstream channels (db/migrations/00021_channels.sql): rows the gateway caches in memory, their price tables,
 * and the breaker states the gateways report. A channel stores the name of the variable holding
 * its key, never the key.
 */

export const PRICE_SOURCES = ['reported', 'catalog', 'table'] as const;
export type PriceSource = (typeof PRICE_SOURCES)[number];
export const CHANNEL_STATES = ['active', 'draining', 'disabled'] as const;
export type ChannelState = (typeof CHANNEL_STATES)[number];

export type ChannelPrice = { model: string; price: ModelPrice };

export type ChannelSettings = {
  baseUrl: string | null;
  keyVariable: string | null;
  protocols: string[];
  models: string[];
  modelMap: Record<string, string>;
  priority: number;
  weight: number;
  maxConcurrency: number | null;
  maxRequestsPerMinute: number | null;
  priceSource: PriceSource;
  headersTimeoutMs: number | null;
  state: ChannelState;
};

export type StoredChannel = ChannelSettings & {
  id: string;
  name: string;
  prices: ChannelPrice[];
  createdAt: Date;
  updatedAt: Date;
};

type ChannelRow = {
  id: string;
  name: string;
  base_url: string | null;
  key_variable: string | null;
  protocols: string[];
  models: string[];
  model_map: Record<string, string>;
  priority: number;
  weight: number;
  max_concurrency: number | null;
  max_requests_per_minute: number | null;
  price_source: PriceSource;
  headers_timeout_ms: number | null;
  state: ChannelState;
  created_at: Date;
  updated_at: Date;
};

type PriceRow = {
  channel_id: string;
  model: string;
  prompt_nanos_per_mtok: bigint;
  completion_nanos_per_mtok: bigint;
  request_nanos: bigint;
  image_nanos: bigint;
};

function channelFromRow(row: ChannelRow, prices: readonly PriceRow[]): StoredChannel {
  return {
    id: row.id,
    name: row.name,
    baseUrl: row.base_url,
    keyVariable: row.key_variable,
    protocols: row.protocols,
    models: row.models,
    modelMap: row.model_map,
    priority: row.priority,
    weight: row.weight,
    maxConcurrency: row.max_concurrency,
    maxRequestsPerMinute: row.max_requests_per_minute,
    priceSource: row.price_source,
    headersTimeoutMs: row.headers_timeout_ms,
    state: row.state,
    prices: prices
      .filter((p) => p.channel_id === row.id)
      .map((p) => ({
        model: p.model,
        price: basicPrice(p.prompt_nanos_per_mtok, p.completion_nanos_per_mtok, p.request_nanos, p.image_nanos),
      })),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Every channel with its price table, highest priority first: what the gateway caches. */
export async function listChannels(db: Db): Promise<StoredChannel[]> {
  const [rows, prices] = await Promise.all([
    db<ChannelRow[]>`select * from channels order by priority desc, name`,
    db<PriceRow[]>`select * from channel_prices order by model`,
  ]);
  return rows.map((row) => channelFromRow(row, prices));
}

export async function findChannel(db: Db, name: string): Promise<StoredChannel | undefined> {
  const [row] = await db<ChannelRow[]>`select * from channels where name = ${name}`;
  if (!row) return undefined;
  const prices = await db<PriceRow[]>`select * from channel_prices where channel_id = ${row.id}::uuid order by model`;
  return channelFromRow(row, prices);
}

/** Column values of the settings given; the rest keep their value (or their default on insert). */
function settingColumns(db: Db, settings: Partial<ChannelSettings>): Record<string, unknown> {
  const columns: Record<string, unknown> = {};
  const set = (column: string, value: unknown) => {
    if (value !== undefined) columns[column] = value;
  };
  set('base_url', settings.baseUrl);
  set('key_variable', settings.keyVariable);
  set('protocols', settings.protocols);
  set('models', settings.models);
  set('model_map', settings.modelMap && db.json(settings.modelMap));
  set('priority', settings.priority);
  set('weight', settings.weight);
  set('max_concurrency', settings.maxConcurrency);
  set('max_requests_per_minute', settings.maxRequestsPerMinute);
  set('price_source', settings.priceSource);
  set('headers_timeout_ms', settings.headersTimeoutMs);
  set('state', settings.state);
  return columns;
}

/** Creates a channel; undefined when the name is taken. */
export async function createChannel(
  db: Db,
  name: string,
  settings: Partial<ChannelSettings>,
): Promise<StoredChannel | undefined> {
  const [row] = await db<ChannelRow[]>`
    insert into channels ${db({ name, ...settingColumns(db, settings) })}
    on conflict (name) do nothing returning *`;
  return row && channelFromRow(row, []);
}

/** Changes the settings given; undefined when there is no such channel. */
export async function updateChannel(
  db: Db,
  name: string,
  settings: Partial<ChannelSettings>,
): Promise<StoredChannel | undefined> {
  const columns = { ...settingColumns(db, settings), updated_at: new Date() };
  const [row] = await db<{ id: string }[]>`update channels set ${db(columns)} where name = ${name} returning id`;
  return row && findChannel(db, name);
}

/** Sets the channel's price for a model (in its price table), replacing an earlier one. */
export async function setChannelPrice(db: Db, channelId: string, model: string, price: ModelPrice): Promise<void> {
  await db`
    insert into channel_prices
      (channel_id, model, prompt_nanos_per_mtok, completion_nanos_per_mtok, request_nanos, image_nanos)
    values (${channelId}::uuid, ${model}, ${price.promptNanosPerMtok.toString()},
      ${price.completionNanosPerMtok.toString()}, ${price.requestNanos.toString()}, ${price.imageNanos.toString()})
    on conflict (channel_id, model) do update set prompt_nanos_per_mtok = excluded.prompt_nanos_per_mtok,
      completion_nanos_per_mtok = excluded.completion_nanos_per_mtok, request_nanos = excluded.request_nanos,
      image_nanos = excluded.image_nanos`;
  await db`update channels set updated_at = now() where id = ${channelId}::uuid`;
}

export async function deleteChannelPrice(db: Db, channelId: string, model: string): Promise<boolean> {
  const result = await db`delete from channel_prices where channel_id = ${channelId}::uuid and model = ${model}`;
  return result.count > 0;
}

export type BreakerState = 'closed' | 'open' | 'half_open';
export type BreakerReport = { channelId: string; model: string; state: BreakerState; retryAt: Date | null };
export type StoredBreakerReport = BreakerReport & { changedAt: Date };

/** Records breaker transitions (the last one per channel and model wins). */
export async function recordBreakerStates(db: Db, reports: readonly BreakerReport[]): Promise<void> {
  if (reports.length === 0) return;
  await db`
    insert into channel_breakers (channel_id, model, state, retry_at, changed_at)
    select c, m, s, r, now() from unnest(${reports.map((r) => r.channelId)}::uuid[],
      ${reports.map((r) => r.model)}::text[], ${reports.map((r) => r.state)}::text[],
      ${reports.map((r) => r.retryAt?.toISOString() ?? null)}::timestamptz[]) as x(c, m, s, r)
    on conflict (channel_id, model) do update
      set state = excluded.state, retry_at = excluded.retry_at, changed_at = now()`;
}

/** Breakers not closed, as last reported. */
export async function listBreakerStates(db: Db): Promise<StoredBreakerReport[]> {
  const rows = await db<
    { channel_id: string; model: string; state: BreakerState; retry_at: Date | null; changed_at: Date }[]
  >`
    select * from channel_breakers where state <> 'closed' order by changed_at desc`;
  return rows.map((row) => ({
    channelId: row.channel_id,
    model: row.model,
    state: row.state,
    retryAt: row.retry_at,
    changedAt: row.changed_at,
  }));
}
