import { ceilingPrice, type ModelPrice } from '../core/cost.ts';
import { globMatches } from '../core/pricing.ts';
import type { ChannelState, PriceSource } from '../db/queries/channels.ts';
import type { CatalogModel } from './catalog.ts';

/**
 * Which channel serves which customer-facing model, under which id and at which price. A channel
 * serves a model its map names or its patterns match, if it knows a price for it: its own price
 * table, or the catalog's price for the channel's id (else for the customer's id).
 */

export type Channel = {
  /** null for a route's own upstream (the proxy's `baseUrl` option), which is not a stored channel. */
  readonly id: string | null;
  readonly name: string;
  readonly baseUrl: string;
  readonly protocols: readonly string[];
  readonly models: readonly string[];
  readonly modelMap: Readonly<Record<string, string>>;
  readonly priority: number;
  readonly weight: number;
  readonly maxConcurrency: number | null;
  readonly maxRequestsPerMinute: number | null;
  readonly priceSource: PriceSource;
  readonly headersTimeoutMs: number | null;
  readonly state: ChannelState;
  /** Whether requests ask for OpenRouter's usage accounting (its `usage.cost`). */
  readonly usageAccounting: boolean;
  readonly prices: ReadonlyMap<string, ModelPrice>;
  /** Why this replica cannot use the channel (its key variable is not set), or null. */
  readonly problem: string | null;
};

/**
 * Keys live beside their channel, not in it: a channel object may be logged, compared or shown;
 * its key is reached only through `channelKey`.
 */
const keys = new WeakMap<Channel, string>();

export function withKey(channel: Channel, key: string | undefined): Channel {
  if (key !== undefined) keys.set(channel, key);
  return channel;
}

export function channelKey(channel: Channel): string | undefined {
  return keys.get(channel);
}

/** One channel's way to serve a customer-facing model. */
export type ChannelTarget = {
  readonly channel: Channel;
  /** The id the channel knows the model by. */
  readonly upstreamModel: string;
  /** What the channel costs for it: the basis of the hold's price and of the charge. */
  readonly price: ModelPrice;
  /** The catalog's entry for the model, if the catalog knows it. */
  readonly known: CatalogModel | undefined;
};

export type CatalogLookup = { get(id: string): CatalogModel | undefined; list(): CatalogModel[] };

export function serves(channel: Channel, modelId: string): boolean {
  return channel.modelMap[modelId] !== undefined || channel.models.some((pattern) => globMatches(pattern, modelId));
}

export function targetFor(channel: Channel, modelId: string, catalog: CatalogLookup): ChannelTarget | undefined {
  if (!serves(channel, modelId)) return undefined;
  const upstreamModel = channel.modelMap[modelId] ?? modelId;
  const known = catalog.get(upstreamModel) ?? catalog.get(modelId);
  const price =
    channel.priceSource === 'table' ? (channel.prices.get(modelId) ?? channel.prices.get(upstreamModel)) : known?.price;
  return price ? { channel, upstreamModel, price, known } : undefined;
}

/** Whether the channel speaks one of these protocols (a loop: this runs per channel per request). */
function speaksAny(channel: Channel, protocols: readonly string[]): boolean {
  for (const protocol of protocols) if (channel.protocols.includes(protocol)) return true;
  return false;
}

/**
 * A channel that may take new requests on this replica (a draining one only as a last resort),
 * over one of `protocols`: the route's own, or one the route's protocol translates to
 * (protocols/registry.ts `servedBy`); undefined: over any.
 */
export function routable(channel: Channel, protocols: readonly string[] | undefined): boolean {
  return (
    channel.state !== 'disabled' &&
    channel.problem === null &&
    (protocols === undefined || speaksAny(channel, protocols))
  );
}

/**
 * The model as customers see it: the catalog's entry under the customer's id, priced for the
 * dearest of the channels that may serve it, so that a hold sized from it covers every one.
 */
export function customerModel(modelId: string, targets: readonly ChannelTarget[]): CatalogModel | undefined {
  const first = targets[0];
  if (!first) return undefined;
  const known = targets.find((target) => target.known)?.known;
  const price = targets.length === 1 ? first.price : ceilingPrice(targets.map((target) => target.price));
  if (known && known.id === modelId && known.price === price) return known;
  return {
    id: modelId,
    name: known?.name ?? modelId,
    description: known?.description ?? null,
    contextLength: known?.contextLength ?? null,
    maxCompletionTokens: known?.maxCompletionTokens ?? null,
    endpoints: known?.endpoints ?? [],
    price,
    updatedAt: known?.updatedAt ?? new Date(0),
  };
}

/** Every customer-facing id some of these channels may serve: catalog ids their patterns match, and mapped ids. */
export function servedIds(channels: readonly Channel[], catalog: CatalogLookup): string[] {
  const ids = new Set<string>();
  const catalogIds = catalog.list().map((model) => model.id);
  for (const channel of channels) {
    for (const id of Object.keys(channel.modelMap)) ids.add(id);
    for (const id of catalogIds) if (channel.models.some((pattern) => globMatches(pattern, id))) ids.add(id);
    for (const id of channel.prices.keys()) if (serves(channel, id)) ids.add(id);
  }
  return [...ids].sort();
}
