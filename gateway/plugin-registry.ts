import { auth } from '../plugins/auth.ts';
import { balance } from '../plugins/balance.ts';
import { countTokens } from '../plugins/count-tokens.ts';
import { debit } from '../plugins/debit/index.ts';
import { keyInfo } from '../plugins/key-info.ts';
import { meter } from '../plugins/meter.ts';
import { modelAccess } from '../plugins/model-access.ts';
import { models } from '../plugins/models.ts';
import { proxy } from '../plugins/proxy/index.ts';
import { ratelimit } from '../plugins/ratelimit.ts';
import { storedResponses } from '../plugins/stored-responses.ts';
import { stripeWebhook } from '../plugins/stripe-webhook.ts';
import type { PluginDefinition } from '../plugins/types.ts';
import type { PluginRegistry } from './route-compiler.ts';

/** Every plugin a route may name, by the name the route table uses. */
export function builtinPlugins(): PluginRegistry {
  const definitions = [
    auth,
    ratelimit,
    modelAccess,
    balance,
    proxy,
    meter,
    debit,
    models,
    keyInfo,
    stripeWebhook,
    storedResponses,
    countTokens,
  ] as PluginDefinition<unknown>[];
  return new Map(definitions.map((definition) => [definition.name, definition]));
}
