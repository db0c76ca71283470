import { GatewayError } from '../core/errors.ts';
import { noOptions } from './options.ts';
import type { PluginDefinition } from './types.ts';

/**
 * `stored-responses`: `GET /v1/responses/{id}` (and its input items). The gateway keeps no
 * responses (Codex and the Agents SDK send `store: false` and the whole history each turn), so
 * every id is unknown here: a 404 that says what to do instead, which the openai SDK raises as
 * `NotFoundError`. The route still authenticates, so an anonymous caller learns nothing.
 */
export const storedResponses: PluginDefinition<Record<string, never>> = {
  name: 'stored-responses',
  parseOptions: noOptions,
  create() {
    return {
      name: 'stored-responses',
      async handle() {
        throw new GatewayError(
          404,
          'not_found',
          'This gateway keeps no responses, so none can be retrieved: send the whole conversation in input (with store: false) instead of previous_response_id.',
        );
      },
    };
  },
};
