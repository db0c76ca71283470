import { readSecretVariable } from '../app/config.ts';
import { type ModelPrice, basicPrice } from '../core/cost.ts';
import {
  createChannel,
  deleteChannelPrice,
  findChannel,
  listBreakerStates,
  listChannels,
  setChannelPrice,
  updateChannel,
  type ChannelPrice,
  type ChannelSettings,
  type StoredBreakerReport,
  type StoredChannel,
} from '../db/queries/channels.ts';
import {
  ChannelInputError,
  checkChannelName,
  checkChannelPrice,
  checkChannelSettings,
  checkModelId,
} from '../upstream/channel-input.ts';
import { builder } from './builder.ts';
import { invalidInput, notFound } from './errors.ts';
import { MoneyRef } from './money.ts';

/**
 * Upstream channels, for the operator only (the root tenant's operators): where requests go, in
 * which order, at which price. A channel shows the NAME of the variable holding its key and
 * whether this process has it set, never the key.
 */

const PriceSourceEnum = builder.enumType('ChannelPriceSource', {
  values: {
    REPORTED: { value: 'reported', description: "The upstream's reported usage.cost, else the catalog price." },
    CATALOG: { value: 'catalog', description: "The catalog price of the channel's model id." },
    TABLE: { value: 'table', description: "The channel's own price table (setChannelPrice)." },
  } as const,
});

const ChannelStateEnum = builder.enumType('ChannelState', {
  values: {
    ACTIVE: { value: 'active' },
    DRAINING: { value: 'draining', description: 'Tried only after every active channel.' },
    DISABLED: { value: 'disabled', description: 'Never tried.' },
  } as const,
});

const BreakerStateEnum = builder.enumType('ChannelBreakerState', {
  values: { CLOSED: { value: 'closed' }, OPEN: { value: 'open' }, HALF_OPEN: { value: 'half_open' } } as const,
});

type Mapping = { model: string; channelModel: string };

const MappingRef = builder.objectRef<Mapping>('ModelMapping').implement({
  fields: (t) => ({
    model: t.exposeString('model', { description: 'The id customers use.' }),
    channelModel: t.exposeString('channelModel', { description: 'The id the channel is asked for.' }),
  }),
});

const ChannelPriceRef = builder.objectRef<ChannelPrice>('ChannelModelPrice').implement({
  description: 'What the channel costs the operator for a model, before any markup.',
  fields: (t) => ({
    model: t.exposeString('model'),
    promptPerMillionTokens: t.field({ type: MoneyRef, resolve: (p) => p.price.promptNanosPerMtok }),
    completionPerMillionTokens: t.field({ type: MoneyRef, resolve: (p) => p.price.completionNanosPerMtok }),
    perRequest: t.field({ type: MoneyRef, resolve: (p) => p.price.requestNanos }),
    perImage: t.field({ type: MoneyRef, resolve: (p) => p.price.imageNanos }),
  }),
});

const BreakerRef = builder.objectRef<StoredBreakerReport>('ChannelBreaker').implement({
  description: 'A breaker the gateways last reported not closed, for one model of the channel.',
  fields: (t) => ({
    model: t.exposeString('model'),
    state: t.field({ type: BreakerStateEnum, resolve: (b) => b.state }),
    retryAt: t.field({ type: 'DateTime', nullable: true, resolve: (b) => b.retryAt }),
    changedAt: t.field({ type: 'DateTime', resolve: (b) => b.changedAt }),
  }),
});

function keySet(channel: StoredChannel): boolean {
  if (channel.keyVariable === null) return channel.baseUrl === null;
  try {
    readSecretVariable(channel.keyVariable);
    return true;
  } catch {
    return false;
  }
}

const ChannelRef = builder.objectRef<StoredChannel>('Channel').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    baseUrl: t.exposeString('baseUrl', { nullable: true, description: "null: the gateway's UPSTREAM_BASE_URL." }),
    keyVariable: t.exposeString('keyVariable', {
      nullable: true,
      description: 'The environment variable holding the key. null: UPSTREAM_API_KEY when baseUrl is null, else none.',
    }),
    keySet: t.boolean({ description: 'Whether that variable is set where this API runs.', resolve: keySet }),
    protocols: t.exposeStringList('protocols'),
    models: t.exposeStringList('models', { description: 'Model ids or globs served.' }),
    modelMap: t.field({
      type: [MappingRef],
      resolve: (c) => Object.entries(c.modelMap).map(([model, channelModel]) => ({ model, channelModel })),
    }),
    priority: t.exposeInt('priority'),
    weight: t.exposeInt('weight'),
    maxConcurrency: t.exposeInt('maxConcurrency', { nullable: true }),
    maxRequestsPerMinute: t.exposeInt('maxRequestsPerMinute', { nullable: true }),
    priceSource: t.field({ type: PriceSourceEnum, resolve: (c) => c.priceSource }),
    headersTimeoutMs: t.exposeInt('headersTimeoutMs', { nullable: true }),
    state: t.field({ type: ChannelStateEnum, resolve: (c) => c.state }),
    prices: t.field({ type: [ChannelPriceRef], resolve: (c) => c.prices }),
    breakers: t.field({
      type: [BreakerRef],
      resolve: async (c, _args, ctx) => (await listBreakerStates(ctx.sql)).filter((b) => b.channelId === c.id),
    }),
    updatedAt: t.field({ type: 'DateTime', resolve: (c) => c.updatedAt }),
  }),
});

const MappingInput = builder.inputType('ModelMappingInput', {
  fields: (t) => ({ model: t.string({ required: true }), channelModel: t.string({ required: true }) }),
});

const ChannelInput = builder.inputType('ChannelInput', {
  description: 'Fields left out keep their value (or their default); null clears a cap, a timeout or the key variable.',
  fields: (t) => ({
    baseUrl: t.string({ required: false }),
    keyVariable: t.string({ required: false }),
    protocols: t.stringList({ required: false }),
    models: t.stringList({ required: false }),
    modelMap: t.field({ type: [MappingInput], required: false }),
    priority: t.int({ required: false }),
    weight: t.int({ required: false }),
    maxConcurrency: t.int({ required: false }),
    maxRequestsPerMinute: t.int({ required: false }),
    priceSource: t.field({ type: PriceSourceEnum, required: false }),
    headersTimeoutMs: t.int({ required: false }),
    state: t.field({ type: ChannelStateEnum, required: false }),
  }),
});

type Input = typeof ChannelInput.$inferInput;

/** `undefined` keeps a setting; null clears only what may be cleared. */
function settingsOf(input: Input): Partial<ChannelSettings> {
  const keep = <T>(value: T | null | undefined) => (value === null ? undefined : value);
  const settings: Partial<ChannelSettings> = {
    baseUrl: keep(input.baseUrl),
    keyVariable: input.keyVariable,
    protocols: keep(input.protocols),
    models: keep(input.models),
    modelMap: input.modelMap ? Object.fromEntries(input.modelMap.map((m) => [m.model, m.channelModel])) : undefined,
    priority: keep(input.priority),
    weight: keep(input.weight),
    maxConcurrency: input.maxConcurrency,
    maxRequestsPerMinute: input.maxRequestsPerMinute,
    priceSource: keep(input.priceSource),
    headersTimeoutMs: input.headersTimeoutMs,
    state: keep(input.state),
  };
  return checked(() => checkChannelSettings(settings), settings);
}

function checked<T>(check: () => void, value: T): T {
  try {
    check();
  } catch (error) {
    if (error instanceof ChannelInputError) throw invalidInput(error.field, error.message);
    throw error;
  }
  return value;
}

builder.queryField('channels', (t) =>
  t.withAuth({ operator: true }).field({
    type: [ChannelRef],
    description: 'Every upstream channel, in the order requests try them.',
    resolve: (_root, _args, ctx) => listChannels(ctx.sql),
  }),
);

builder.mutationField('createChannel', (t) =>
  t.withAuth({ operator: true }).field({
    type: ChannelRef,
    args: { name: t.arg.string({ required: true }), input: t.arg({ type: ChannelInput, required: true }) },
    resolve: async (_root, { name, input }, ctx) => {
      checked(() => checkChannelName(name), name);
      const settings = settingsOf(input);
      if (!settings.baseUrl) throw invalidInput('baseUrl', 'A new channel needs its baseUrl.');
      const channel = await createChannel(ctx.sql, name, settings);
      if (!channel) throw invalidInput('name', `A channel named ${name} exists.`);
      return channel;
    },
  }),
);

builder.mutationField('updateChannel', (t) =>
  t.withAuth({ operator: true }).field({
    type: ChannelRef,
    description: 'Changes the settings given; gateways pick the change up within seconds.',
    args: { name: t.arg.string({ required: true }), input: t.arg({ type: ChannelInput, required: true }) },
    resolve: async (_root, { name, input }, ctx) =>
      (await updateChannel(ctx.sql, name, settingsOf(input))) ?? Promise.reject(notFound('Channel')),
  }),
);

builder.mutationField('setChannelPrice', (t) =>
  t.withAuth({ operator: true }).field({
    type: ChannelRef,
    description: "Sets a model's price in the channel's price table (used when its priceSource is TABLE).",
    args: {
      name: t.arg.string({ required: true }),
      model: t.arg.string({ required: true }),
      promptPerMillionTokens: t.arg({ type: 'Nanos', required: true }),
      completionPerMillionTokens: t.arg({ type: 'Nanos', required: true }),
      perRequest: t.arg({ type: 'Nanos', required: false }),
      perImage: t.arg({ type: 'Nanos', required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const price: ModelPrice = basicPrice(
        args.promptPerMillionTokens,
        args.completionPerMillionTokens,
        args.perRequest ?? 0n,
        args.perImage ?? 0n,
      );
      checked(() => {
        checkModelId(args.model);
        checkChannelPrice(price);
      }, price);
      const channel = await findChannel(ctx.sql, args.name);
      if (!channel) throw notFound('Channel');
      await setChannelPrice(ctx.sql, channel.id, args.model, price);
      return (await findChannel(ctx.sql, args.name)) ?? channel;
    },
  }),
);

builder.mutationField('removeChannelPrice', (t) =>
  t.withAuth({ operator: true }).field({
    type: ChannelRef,
    args: { name: t.arg.string({ required: true }), model: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const channel = await findChannel(ctx.sql, args.name);
      if (!channel || !(await deleteChannelPrice(ctx.sql, channel.id, args.model))) throw notFound('Channel price');
      return (await findChannel(ctx.sql, args.name)) ?? channel;
    },
  }),
);
