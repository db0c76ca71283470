import { ConfigError, readSecretVariable, type Config } from '../app/config.ts';
import { type Logger, reasonOf } from '../app/log.ts';
import type { ModelPrice } from '../core/cost.ts';
import { listChannels, type StoredChannel } from '../db/queries/channels.ts';
import type { Sql } from '../db/sql.ts';
import type { CatalogModel } from './catalog.ts';
import {
  customerModel,
  routable,
  servedIds,
  targetFor,
  withKey,
  type CatalogLookup,
  type Channel,
  type ChannelTarget,
} from './channel-models.ts';

/**
 * The upstream channels, in memory: read from PostgreSQL at start and again every
 * CHANNEL_RELOAD_INTERVAL_MS in the background, so a change made with the CLI or the API reaches
 * every replica within seconds and routing never waits on the database. A reload that fails keeps
 * the channels last read.
 */

export const CHANNEL_RELOAD_INTERVAL_MS = 2_000;

export type Channels = {
  /**
   * The model as customers see it, priced for the dearest routable channel serving it over one of
   * `protocols` (all channels when undefined); undefined if none does.
   */
  model(id: string, protocols?: readonly string[]): CatalogModel | undefined;
  /** Every model some routable channel serves, each once, by id. */
  models(): CatalogModel[];
  /**
   * The routable channels serving the model over one of the protocols (a route's protocol and the
   * ones it translates to: protocols/registry.ts `servedBy`): active ones, highest priority first,
   * then draining ones.
   */
  targets(modelId: string, protocols: readonly string[]): ChannelTarget[];
  /** A stored channel by id, whatever its state; null names the default channel. */
  byId(id: string | null): Channel | undefined;
  /** A channel's price for a model now, for a request settled after its replica is gone. */
  priceFor(channelId: string | null, modelId: string): ModelPrice | undefined;
  list(): Channel[];
  reload(): Promise<void>;
  stop(): void;
};

export const DEFAULT_CHANNEL_NAME = 'default';
const OPENROUTER_HOST = 'openrouter.ai';

export function usesOpenRouterAccounting(baseUrl: string): boolean {
  return baseUrl.includes(OPENROUTER_HOST);
}

/** A stored row as the gateway uses it: its URL and key resolved from this replica's environment. */
export function channelFromRow(row: StoredChannel, config: Config): Channel {
  const baseUrl = (row.baseUrl ?? config.upstreamBaseUrl).replace(/\/+$/, '');
  let key: string | undefined;
  let problem: string | null = null;
  if (row.keyVariable !== null) {
    try {
      key = readSecretVariable(row.keyVariable);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problem = `its key variable ${row.keyVariable} is not set`;
    }
  } else if (row.baseUrl === null) key = config.upstreamApiKey;
  const channel: Channel = {
    id: row.id,
    name: row.name,
    baseUrl,
    protocols: row.protocols,
    models: row.models,
    modelMap: row.modelMap,
    priority: row.priority,
    weight: row.weight,
    maxConcurrency: row.maxConcurrency,
    maxRequestsPerMinute: row.maxRequestsPerMinute,
    priceSource: row.priceSource,
    headersTimeoutMs: row.headersTimeoutMs,
    state: row.state,
    usageAccounting: usesOpenRouterAccounting(baseUrl),
    prices: new Map(row.prices.map((p) => [p.model, p.price])),
    problem,
  };
  return withKey(channel, key);
}

export type ChannelsOptions = { sql: Sql; config: Config; catalog: CatalogLookup; log: Logger; background: boolean };

export async function createChannels(options: ChannelsOptions): Promise<Channels> {
  const { catalog, log } = options;
  let all: Channel[] = [];
  let problems = '';
  const reload = async () => {
    const next = (await listChannels(options.sql)).map((row) => channelFromRow(row, options.config));
    const nextProblems = next
      .filter((c) => c.problem && c.state === 'active')
      .map((c) => `${c.name}: ${c.problem}`)
      .join('; ');
    if (nextProblems !== problems && nextProblems !== '')
      log.warn('channels unusable on this replica', { channels: nextProblems });
    problems = nextProblems;
    all = next;
  };
  await reload();
  const timer = options.background
    ? setInterval(
        () =>
          void reload().catch((error: unknown) =>
            log.warn('channel reload failed; keeping the channels last read', {
              reason: reasonOf(error),
            }),
          ),
        CHANNEL_RELOAD_INTERVAL_MS,
      )
    : undefined;
  timer?.unref?.();
  const targets = (modelId: string, protocols: readonly string[] | undefined): ChannelTarget[] => {
    const found: ChannelTarget[] = [];
    let draining: ChannelTarget[] | undefined;
    for (const channel of all) {
      if (!routable(channel, protocols)) continue;
      const target = targetFor(channel, modelId, catalog);
      if (!target) continue;
      if (channel.state !== 'draining') found.push(target);
      else if (draining) draining.push(target);
      else draining = [target];
    }
    return draining ? [...found, ...draining] : found;
  };
  const byId = (id: string | null) => all.find((c) => (id === null ? c.name === DEFAULT_CHANNEL_NAME : c.id === id));
  return {
    model: (id, protocols) => customerModel(id, targets(id, protocols)),
    models() {
      const usable = all.filter((channel) => routable(channel, undefined));
      return servedIds(usable, catalog)
        .map((id) => customerModel(id, targets(id, undefined)))
        .filter((model): model is CatalogModel => model !== undefined);
    },
    targets,
    byId,
    priceFor(channelId, modelId) {
      const channel = byId(channelId);
      return channel && targetFor(channel, modelId, catalog)?.price;
    },
    list: () => all,
    reload,
    stop: () => clearInterval(timer),
  };
}
