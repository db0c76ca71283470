import type { ModelPrice } from '../core/cost.ts';
import { FEMTOS_PER_NANO, TOKENS_PER_MTOK } from '../core/money.ts';
import { markupFor, priceNanos } from '../core/pricing.ts';
import { listModels, type StoredModel } from '../db/queries/models.ts';
import { listPricingRules } from '../db/queries/pricing.ts';
import { tenantChain } from '../db/queries/tenants.ts';
import { builder } from './builder.ts';
import type { GraphqlContext } from './context.ts';
import { notFound } from './errors.ts';
import { MoneyRef } from './money.ts';

/**
 * The model catalog with the caller's prices: the upstream price with every markup of the
 * caller's tenant chain applied (root first), through the one price function. An admin also sees
 * what the tenant itself pays (all markups but its own) and its own markup per model.
 */

type PricedModel = { model: StoredModel; markupsBps: number[] };
type Priced = { price: ModelPrice; markupsBps: number[] };

const PricesRef = builder.objectRef<Priced>('ModelPrices').implement({
  description: 'Prices after markup, rounded up to the nano-dollar as every charge is.',
  fields: (t) => ({
    promptPerMillionTokens: t.field({
      type: MoneyRef,
      resolve: (p) => priceNanos(p.price.promptNanosPerMtok * TOKENS_PER_MTOK, p.markupsBps),
    }),
    completionPerMillionTokens: t.field({
      type: MoneyRef,
      resolve: (p) => priceNanos(p.price.completionNanosPerMtok * TOKENS_PER_MTOK, p.markupsBps),
    }),
    perRequest: t.field({
      type: MoneyRef,
      resolve: (p) => priceNanos(p.price.requestNanos * FEMTOS_PER_NANO, p.markupsBps),
    }),
    perImage: t.field({
      type: MoneyRef,
      resolve: (p) => priceNanos(p.price.imageNanos * FEMTOS_PER_NANO, p.markupsBps),
    }),
  }),
});

const ModelRef = builder.objectRef<PricedModel>('Model').implement({
  fields: (t) => ({
    id: t.id({ resolve: (m) => m.model.id }),
    name: t.string({ resolve: (m) => m.model.name }),
    description: t.string({ nullable: true, resolve: (m) => m.model.description }),
    contextLength: t.int({ nullable: true, resolve: (m) => m.model.contextLength }),
    maxCompletionTokens: t.int({ nullable: true, resolve: (m) => m.model.maxCompletionTokens }),
    inputModalities: t.stringList({
      nullable: true,
      description:
        'What the model takes ("text", "image", "file", "audio", …) as the catalog says; null when it does not say.',
      resolve: (m) => m.model.inputModalities,
    }),
    outputModalities: t.stringList({
      nullable: true,
      description:
        'What the model gives ("text", "image", "embeddings", …) as the catalog says; null when it does not say.',
      resolve: (m) => m.model.outputModalities,
    }),
    price: t.field({
      type: PricesRef,
      description: "What this tenant's customers pay.",
      resolve: (m) => ({ price: m.model.price, markupsBps: m.markupsBps }),
    }),
    wholesalePrice: t.field({
      type: PricesRef,
      authScopes: { admin: true },
      description: 'What this tenant pays: the upstream price for the root tenant, the parent’s price for a reseller.',
      resolve: (m) => ({ price: m.model.price, markupsBps: m.markupsBps.slice(0, -1) }),
    }),
    markupBps: t.int({
      authScopes: { admin: true },
      description: "This tenant's own markup on the model (a pricing rule's, else its default).",
      resolve: (m) => m.markupsBps.at(-1) ?? 0,
    }),
  }),
});

async function pricedCatalog(ctx: GraphqlContext): Promise<PricedModel[]> {
  const chain = await tenantChain(ctx.sql, ctx.tenant.id);
  const [models, rules] = await Promise.all([
    listModels(ctx.sql),
    listPricingRules(
      ctx.sql,
      chain.map((tenant) => tenant.id),
    ),
  ]);
  const rulesOf = new Map(chain.map((tenant) => [tenant.id, rules.filter((rule) => rule.tenantId === tenant.id)]));
  return models.map((model) => ({
    model,
    markupsBps: chain.map((tenant) => markupFor(rulesOf.get(tenant.id) ?? [], model.id, tenant.markupBps)),
  }));
}

builder.queryField('models', (t) =>
  t.field({
    type: [ModelRef],
    description:
      'Every model the gateway offers, with prices for the caller’s tenant (the host’s tenant when signed out).',
    args: { search: t.arg.string({ required: false, description: 'Matches the id or the name, case-insensitively.' }) },
    resolve: async (_root, { search }, ctx) => {
      const needle = search?.trim().toLowerCase();
      const all = await pricedCatalog(ctx);
      return needle
        ? all.filter(
            ({ model }) => model.id.toLowerCase().includes(needle) || model.name.toLowerCase().includes(needle),
          )
        : all;
    },
  }),
);

builder.queryField('model', (t) =>
  t.field({
    type: ModelRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      const found = (await pricedCatalog(ctx)).find(({ model }) => model.id === String(id));
      if (!found) throw notFound('Model');
      return found;
    },
  }),
);
