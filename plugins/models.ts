import { FEMTOS_PER_NANO, formatFemtosUsd } from '../core/money.ts';
import { markedUpFemtos } from '../core/pricing.ts';
import type { CatalogModel } from '../upstream/catalog.ts';
import type { RequestContext } from './context.ts';
import { GatewayError } from '../core/errors.ts';
import type { Services } from './services.ts';
import type { ChainPricing } from '../ledger/tenant-pricing.ts';
import { noOptions } from './options.ts';
import type { PluginDefinition } from './types.ts';

/**
 * `models`: the models the tenant sells — every model some channel serves, each once, under the
 * id customers use — as OpenAI's `GET /v1/models` lists them, with OpenRouter's `pricing` block
 * showing the caller's own prices after every markup (USD per token, exact decimal strings), for
 * the dearest channel that may serve it: the most a request is charged.
 */

function priced(model: CatalogModel, chain: ChainPricing) {
  const markups = chain.markupsFor(model.id);
  const perToken = (nanosPerMtok: bigint) => formatFemtosUsd(markedUpFemtos(nanosPerMtok, markups));
  const perItem = (nanos: bigint) => formatFemtosUsd(markedUpFemtos(nanos * FEMTOS_PER_NANO, markups));
  return {
    id: model.id,
    object: 'model',
    created: Math.floor(model.updatedAt.getTime() / 1000),
    owned_by: model.id.includes('/') ? model.id.slice(0, model.id.indexOf('/')) : 'tollgate',
    name: model.name,
    description: model.description,
    context_length: model.contextLength,
    pricing: {
      prompt: perToken(model.price.promptNanosPerMtok),
      completion: perToken(model.price.completionNanosPerMtok),
      request: perItem(model.price.requestNanos),
      image: perItem(model.price.imageNanos),
    },
    top_provider: { context_length: model.contextLength, max_completion_tokens: model.maxCompletionTokens },
    // OpenRouter's shape, for clients that pick models by what they take; only when the catalog says.
    ...(model.inputModalities || model.outputModalities
      ? { architecture: { input_modalities: model.inputModalities, output_modalities: model.outputModalities } }
      : {}),
  };
}

/** The model id in the path; text that is not valid percent-encoding is kept as sent, and so names no model (404). */
function decodedModelId(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
}

function json(payload: unknown): Response {
  return new Response(JSON.stringify(payload), { headers: { 'content-type': 'application/json' } });
}

async function chainFor(ctx: RequestContext, services: Services): Promise<ChainPricing> {
  return services.tenantPricing.forTenant(ctx.principal?.tenantId ?? services.rootTenantId);
}

export const models: PluginDefinition<Record<string, never>> = {
  name: 'models',
  parseOptions: noOptions,
  create(_options, services) {
    return {
      name: 'models',
      async handle(ctx) {
        const chain = await chainFor(ctx, services);
        const path = new URL(ctx.request.url).pathname;
        // The model id is everything after the route's literal part: `/v1/models/:id` (slash
        // encoded) and `/v1/models/:id/:slug` (slash as is) name the same model.
        const prefix = `${ctx.route.path.replace(/(\/:[A-Za-z]+)+$/, '')}/`;
        if (ctx.route.path.includes('/:')) {
          const id = decodedModelId(path.slice(prefix.length));
          const model = services.channels.model(id);
          if (!model)
            throw new GatewayError(
              404,
              'model_not_found',
              `The model \`${id}\` does not exist or is not available.`,
              'model',
            );
          return json(priced(model, chain));
        }
        return json({ object: 'list', data: services.channels.models().map((model) => priced(model, chain)) });
      },
    };
  },
};
