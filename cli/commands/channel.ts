import { basicPrice } from '../../core/cost.ts';
import { parseUsd } from '../../core/money.ts';
import {
  createChannel,
  deleteChannelPrice,
  findChannel,
  listBreakerStates,
  listChannels,
  setChannelPrice,
  updateChannel,
  type ChannelState,
  type StoredChannel,
} from '../../db/queries/channels.ts';
import { ChannelInputError, checkChannelPrice, checkModelId } from '../../upstream/channel-input.ts';
import { flag, optionalString, requiredString, type ParsedArgs } from '../args.ts';
import type { Command } from '../command.ts';
import { UsageError } from '../errors.ts';
import { fields, formatDate, table } from '../format.ts';
import { CHANNEL_OPTIONS, channelJson, channelName, channelSettings } from './channel-options.ts';

/**
 * Upstream channels: the upstreams requests go to, tried by priority and weight, failing over
 * before the first byte (docs/operations.md, "Add a second upstream"). Gateways pick a change up
 * within seconds. A channel names the variable that holds its key; the key stays in the
 * environment of the gateways.
 */

const NAME = { name: 'NAME', help: 'the channel, e.g. backup' };

function summary(channel: StoredChannel): string {
  return fields([
    ['channel', channel.name],
    ['state', channel.state],
    ['base url', channel.baseUrl ?? '(UPSTREAM_BASE_URL)'],
    ['key variable', channel.keyVariable ?? (channel.baseUrl === null ? '(UPSTREAM_API_KEY)' : '(none)')],
    ['models', [...channel.models, ...Object.entries(channel.modelMap).map(([a, b]) => `${a}=${b}`)].join(' ') || '-'],
    ['priority / weight', `${channel.priority} / ${channel.weight}`],
    ['price source', channel.priceSource],
  ]);
}

export const channelAddCommand: Command = {
  name: 'channels add',
  summary: 'add an upstream channel (tried by priority, then weight; see docs/operations.md)',
  positional: NAME,
  options: { ...CHANNEL_OPTIONS, 'base-url': { type: 'string', value: 'URL', help: 'the upstream (required)' } },
  prepare: (args) => {
    const name = channelName(args);
    requiredString(args, 'base-url');
    const settings = channelSettings(args);
    return async (session) => {
      const channel = await createChannel(session.db.sql, name, settings);
      if (!channel) throw new UsageError(`channels add: a channel named ${name} exists (change it with channels set)`);
      return { json: channelJson(channel), text: summary(channel) };
    };
  },
};

export const channelSetCommand: Command = {
  name: 'channels set',
  summary: "change a channel's settings (those given; the rest stay)",
  positional: NAME,
  options: { ...CHANNEL_OPTIONS, state: { type: 'string', value: 'STATE', help: 'active, draining or disabled' } },
  prepare: (args) => {
    const name = channelName(args);
    const settings = channelSettings(args);
    return async (session) => {
      const channel = await updateChannel(session.db.sql, name, settings);
      if (!channel) throw new UsageError(`channels set: no channel named ${name} (see: tollgate channels list)`);
      return { json: channelJson(channel), text: summary(channel) };
    };
  },
};

function stateCommand(word: string, state: ChannelState, help: string): Command {
  return {
    name: `channels ${word}`,
    summary: help,
    positional: NAME,
    options: {},
    prepare: (args) => {
      const name = channelName(args);
      return async (session) => {
        const channel = await updateChannel(session.db.sql, name, { state });
        if (!channel) throw new UsageError(`channels ${word}: no channel named ${name} (see: tollgate channels list)`);
        return { json: channelJson(channel), text: `channel ${name} is ${state}` };
      };
    },
  };
}

export const channelDrainCommand = stateCommand(
  'drain',
  'draining',
  'send a channel new requests only when no active channel can take them (before maintenance)',
);
export const channelDisableCommand = stateCommand('disable', 'disabled', 'send a channel no new requests at all');
export const channelEnableCommand = stateCommand('enable', 'active', 'route requests to a channel again');

export const channelListCommand: Command = {
  name: 'channels list',
  summary: 'list channels in the order they are tried, and every breaker the gateways report not closed',
  options: {},
  prepare: () => async (session) => {
    const [channels, breakers] = await Promise.all([listChannels(session.db.sql), listBreakerStates(session.db.sql)]);
    const names = new Map(channels.map((c) => [c.id, c.name]));
    const rows = channels.map((c) => [
      c.name,
      c.state,
      String(c.priority),
      String(c.weight),
      c.priceSource,
      c.baseUrl ?? '(UPSTREAM_BASE_URL)',
      c.keyVariable ?? '-',
      [...c.models, ...Object.keys(c.modelMap)].join(' ') || '-',
    ]);
    const health = breakers.map((b) => [
      names.get(b.channelId) ?? b.channelId,
      b.model,
      b.state,
      formatDate(b.retryAt),
      formatDate(b.changedAt),
    ]);
    const text = [
      table(
        ['NAME', 'STATE', 'PRIORITY', 'WEIGHT', 'PRICES', 'BASE URL', 'KEY VARIABLE', 'MODELS'],
        rows,
        'no channels',
      ),
      '',
      table(['CHANNEL', 'MODEL', 'BREAKER', 'PROBE AT', 'SINCE'], health, 'every breaker is closed'),
    ].join('\n');
    const json = {
      channels: channels.map(channelJson),
      breakers: breakers.map((b) => ({ ...b, channel: names.get(b.channelId) ?? null })),
    };
    return { json, text };
  },
};

const PRICE = 'channels price';

function usdOption(args: ParsedArgs, option: string, required: boolean): bigint {
  const text = required ? requiredString(args, option) : (optionalString(args, option) ?? '0');
  const nanos = parseUsd(text);
  if (nanos === undefined || nanos < 0n)
    throw new UsageError(`${PRICE}: --${option} must be a USD amount like 2.50 with at most 9 decimals, got "${text}"`);
  return nanos;
}

export const channelPriceCommand: Command = {
  name: PRICE,
  summary: "set (or --remove) a model's price in a channel's price table, used when its price source is table",
  positional: NAME,
  options: {
    model: { type: 'string', value: 'ID', help: 'the customer-facing model id (required)' },
    prompt: { type: 'string', value: 'USD', help: 'USD per million prompt tokens (required unless --remove)' },
    completion: { type: 'string', value: 'USD', help: 'USD per million completion tokens (required unless --remove)' },
    request: { type: 'string', value: 'USD', help: 'USD per request (default 0)' },
    image: { type: 'string', value: 'USD', help: 'USD per image or other media item (default 0)' },
    remove: { type: 'boolean', help: "remove the model from the channel's price table" },
  },
  prepare: (args) => {
    const name = channelName(args);
    const model = requiredString(args, 'model');
    const remove = flag(args, 'remove');
    const price = remove
      ? undefined
      : basicPrice(
          usdOption(args, 'prompt', true),
          usdOption(args, 'completion', true),
          usdOption(args, 'request', false),
          usdOption(args, 'image', false),
        );
    try {
      checkModelId(model);
      if (price) checkChannelPrice(price);
    } catch (error) {
      if (error instanceof ChannelInputError) throw new UsageError(`${PRICE}: ${error.message}`);
      throw error;
    }
    return async (session) => {
      const channel = await findChannel(session.db.sql, name);
      if (!channel) throw new UsageError(`${PRICE}: no channel named ${name} (see: tollgate channels list)`);
      if (!price) {
        if (!(await deleteChannelPrice(session.db.sql, channel.id, model)))
          throw new UsageError(`${PRICE}: ${name} has no price for ${model}`);
      } else await setChannelPrice(session.db.sql, channel.id, model, price);
      const updated = (await findChannel(session.db.sql, name)) ?? channel;
      const text = price ? `price of ${model} on ${name} set` : `price of ${model} on ${name} removed`;
      return { json: channelJson(updated), text };
    };
  },
};
