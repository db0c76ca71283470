import { GatewayError } from '../core/errors.ts';
import { globMatches } from '../core/pricing.ts';
import { catalogModelId } from '../core/request-limits.ts';
import { protocolOf, servedBy } from '../protocols/registry.ts';
import { billedRequest } from '../protocols/request-body.ts';
import type { CatalogModel } from '../upstream/catalog.ts';
import { noOptions } from './options.ts';
import type { PluginDefinition } from './types.ts';

/**
 * `model-access`: the models a request names must exist in the catalog (404) and be allowed for
 * the calling key (403). Its own step, so every route that names a model checks it, paid or free;
 * the route compiler refuses a proxied route without it. Later steps read the resolved models from
 * `ctx.models`.
 */

function resolve(id: string, lookup: (id: string) => CatalogModel | undefined): CatalogModel {
  const model = lookup(id);
  if (!model)
    throw new GatewayError(404, 'model_not_found', `The model \`${id}\` does not exist or is not available.`, 'model');
  return model;
}

export const modelAccess: PluginDefinition<Record<string, never>> = {
  name: 'model-access',
  parseOptions: noOptions,
  create(_options, services) {
    return {
      name: 'model-access',
      async admit(ctx) {
        const billed = await billedRequest(ctx);
        // Priced for the dearest channel the request may reach, so the hold covers whichever serves it.
        // `:online` and provider shortcuts are routing, not models: the catalog knows the model without them.
        const protocols = servedBy(protocolOf(billed.protocol));
        const lookup = (id: string) =>
          services.channels.model(id, protocols) ?? services.channels.model(catalogModelId(id), protocols);
        const models = billed.candidateModels.map((id) => resolve(id, lookup));
        const allowed = ctx.principal?.key.allowedModels;
        if (allowed && allowed.length > 0) {
          const refused = models.find((model) => !allowed.some((pattern) => globMatches(pattern, model.id)));
          if (refused)
            throw new GatewayError(
              403,
              'model_not_allowed',
              `This API key may not use the model \`${refused.id}\`.`,
              'model',
            );
        }
        ctx.models = models;
      },
    };
  },
};
