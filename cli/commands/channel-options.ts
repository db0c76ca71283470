import type { ChannelSettings, ChannelState, PriceSource, StoredChannel } from '../../db/queries/channels.ts';
import { checkChannelName, checkChannelSettings, ChannelInputError } from '../../upstream/channel-input.ts';
import { optionalString, positional, strings, type ParsedArgs } from '../args.ts';
import type { OptionSpec } from '../command.ts';
import { UsageError } from '../errors.ts';
import { formatUsd } from '../../core/money.ts';

/**
 * The options `channels add` and `channels set` share, parsed into channel settings and checked
 * by the same rules as the API (upstream/channel-input.ts), before any database is opened.
 */

/** Typed to clear an optional setting (a cap, a timeout, a key variable). */
const NONE = 'none';

export const CHANNEL_OPTIONS: Record<string, OptionSpec> = {
  'base-url': { type: 'string', value: 'URL', help: 'the upstream, e.g. https://openrouter.ai/api/v1' },
  'key-variable': {
    type: 'string',
    value: 'NAME',
    help: "the NAME of the environment variable holding the channel's key (never the key; 'none': no key)",
  },
  protocol: {
    type: 'string',
    multiple: true,
    value: 'NAME',
    help: 'a protocol it speaks natively: chat, completions, embeddings (repeatable; default: those three)',
  },
  model: {
    type: 'string',
    multiple: true,
    value: 'GLOB',
    help: "model ids it serves, e.g. 'openai/*' (repeatable; default: '*'; 'none': only the mapped ones)",
  },
  map: {
    type: 'string',
    multiple: true,
    value: 'ID=ID',
    help: "customer id = the channel's id, e.g. gpt-4o=openai/gpt-4o (repeatable; a mapped id is served)",
  },
  priority: { type: 'string', value: 'N', help: 'higher priorities are tried first (default: 0)' },
  weight: {
    type: 'string',
    value: 'N',
    help: 'share of traffic among channels of one priority, 1 to 1000 (default 1)',
  },
  'max-concurrency': { type: 'string', value: 'N|none', help: 'requests in flight at once, at most' },
  'max-rpm': { type: 'string', value: 'N|none', help: 'requests per minute, at most' },
  'price-source': {
    type: 'string',
    value: 'SOURCE',
    help: "reported (the upstream's usage.cost, else the catalog; default), catalog, or table (`channels price`)",
  },
  'headers-timeout-ms': {
    type: 'string',
    value: 'MS|none',
    help: 'how long to wait for the response head before trying the next channel',
  },
};

function whole(
  command: string,
  option: string,
  text: string | undefined,
  nullable: boolean,
): number | null | undefined {
  if (text === undefined) return undefined;
  if (nullable && text === NONE) return null;
  if (!/^-?\d+$/.test(text))
    throw new UsageError(
      `${command}: --${option} must be a whole number${nullable ? " or 'none'" : ''}, got "${text}"`,
    );
  return Number(text);
}

function mapping(command: string, entries: string[]): Record<string, string> | undefined {
  if (entries.length === 0) return undefined;
  const map: Record<string, string> = {};
  for (const entry of entries) {
    const at = entry.indexOf('=');
    if (at <= 0 || at === entry.length - 1)
      throw new UsageError(`${command}: --map must look like gpt-4o=openai/gpt-4o, got "${entry}"`);
    map[entry.slice(0, at).trim()] = entry.slice(at + 1).trim();
  }
  return map;
}

/** The channel's name (the positional argument), checked. */
export function channelName(args: ParsedArgs): string {
  const name = positional(args);
  try {
    checkChannelName(name);
  } catch (error) {
    if (error instanceof ChannelInputError) throw new UsageError(`${args.command}: ${error.message}`);
    throw error;
  }
  return name;
}

export function channelSettings(args: ParsedArgs, state?: ChannelState): Partial<ChannelSettings> {
  const command = args.command;
  const keyVariable = optionalString(args, 'key-variable');
  const protocols = strings(args, 'protocol');
  const models = strings(args, 'model');
  const settings: Partial<ChannelSettings> = {
    baseUrl: optionalString(args, 'base-url'),
    keyVariable: keyVariable === NONE ? null : keyVariable,
    protocols: protocols.length > 0 ? protocols : undefined,
    models: models.length === 0 ? undefined : models.join() === NONE ? [] : models,
    modelMap: mapping(command, strings(args, 'map')),
    priority: whole(command, 'priority', optionalString(args, 'priority'), false) ?? undefined,
    weight: whole(command, 'weight', optionalString(args, 'weight'), false) ?? undefined,
    maxConcurrency: whole(command, 'max-concurrency', optionalString(args, 'max-concurrency'), true),
    maxRequestsPerMinute: whole(command, 'max-rpm', optionalString(args, 'max-rpm'), true),
    priceSource: optionalString(args, 'price-source') as PriceSource | undefined,
    headersTimeoutMs: whole(command, 'headers-timeout-ms', optionalString(args, 'headers-timeout-ms'), true),
    state: state ?? (optionalString(args, 'state') as ChannelState | undefined),
  };
  try {
    checkChannelSettings(settings);
  } catch (error) {
    if (error instanceof ChannelInputError) throw new UsageError(`${command}: ${error.message}`);
    throw error;
  }
  return settings;
}

/** A channel in JSON output: its key variable's name, never a key. */
export function channelJson(channel: StoredChannel) {
  return {
    ...channel,
    prices: channel.prices.map((p) => ({
      model: p.model,
      promptUsdPerMtok: formatUsd(p.price.promptNanosPerMtok),
      completionUsdPerMtok: formatUsd(p.price.completionNanosPerMtok),
      requestUsd: formatUsd(p.price.requestNanos),
      imageUsd: formatUsd(p.price.imageNanos),
    })),
  };
}
