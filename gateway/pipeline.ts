import type { Delivery, Finish, Observer, Outcome, Plugin } from '../plugins/types.ts';
import type { RequestContext } from '../plugins/context.ts';
import { GatewayError } from '../core/errors.ts';
import { asGatewayError } from './errors.ts';
import { openAiErrors } from '../protocols/openai/errors.ts';
import type { Protocol } from '../protocols/protocol.ts';
import { type Logger, reasonOf } from '../app/log.ts';
import type { Route } from './routes.ts';
import { CLIENT_CLOSED_CODE } from '../protocols/request-body.ts';

/**
 * Runs one route's plugins for one request: admit in order, the one handler, then — when the
 * response body has ended, failed or been abandoned — settle in reverse order for every plugin
 * whose admit completed. The handler receives the delivery (plugins/types.ts) so a streamed body
 * can report its end.
 */

/** `protocol`: the route's (protocols/registry.ts), resolved once when the table is compiled. */
export type CompiledRoute = { route: Route; plugins: Plugin[]; handler: Plugin; protocol: Protocol | undefined };

/** A plugin whose admit completed, with the state it returned for its settle. */
type Admitted = { plugin: Plugin; state: unknown };

function settleAll(
  ctx: RequestContext,
  admitted: Admitted[],
  outcome: Outcome,
  log: Logger,
  onSettled: () => void,
): void {
  const run = async () => {
    for (let i = admitted.length - 1; i >= 0; i--) {
      const { plugin, state } = admitted[i] as Admitted;
      try {
        await plugin.settle?.(ctx, outcome, state);
      } catch (error) {
        log.error('settle failed', {
          requestId: ctx.id,
          plugin: plugin.name,
          reason: reasonOf(error),
        });
      }
    }
  };
  void run().finally(onSettled);
}

function refusal(error: GatewayError): Outcome {
  return { kind: 'refused', status: error.status, errorCode: error.code, producedOutput: false };
}

/** `onSettled` runs once every settle step of the request has run: the request is then truly over. */
export async function runPipeline(
  compiled: CompiledRoute,
  ctx: RequestContext,
  log: Logger,
  onSettled: () => void = () => {},
): Promise<Response> {
  const admitted: Admitted[] = [];
  let finished = false;
  const finish: Finish = (outcome) => {
    if (finished) return;
    finished = true;
    settleAll(ctx, admitted, outcome, log, onSettled);
  };
  try {
    for (const plugin of compiled.plugins) {
      const state = plugin.admit ? await plugin.admit(ctx) : undefined;
      admitted.push({ plugin, state });
    }
    const observers = admitted
      .map(({ plugin, state }) => plugin.observe?.(ctx, state))
      .filter((o): o is Observer => o !== undefined);
    let claimed = false;
    const delivery: Delivery = { observers, finish, claim: () => (claimed = true) };
    const response = await (compiled.handler.handle as NonNullable<Plugin['handle']>)(ctx, delivery);
    if (!claimed) finish({ kind: 'completed', status: response.status, errorCode: null, producedOutput: true });
    for (const [name, value] of Object.entries(ctx.responseHeaders)) response.headers.set(name, value);
    response.headers.set('x-request-id', ctx.id);
    const idHeader = compiled.protocol?.requestIdHeader;
    if (idHeader) response.headers.set(idHeader, ctx.id);
    return response;
  } catch (thrown) {
    const error = asGatewayError(thrown);
    if (!(thrown instanceof GatewayError)) {
      log.error('request failed', {
        requestId: ctx.id,
        route: compiled.route.path,
        reason: reasonOf(thrown),
      });
    } else if (thrown.code === CLIENT_CLOSED_CODE) {
      // The client's doing, not a fault: thousands of these must not read as an outage.
      log.info('client closed the connection before its request body arrived', {
        requestId: ctx.id,
        route: compiled.route.path,
      });
    }
    finish(
      error.status >= 500
        ? { kind: 'failed', status: error.status, errorCode: error.code, producedOutput: false }
        : refusal(error),
    );
    const response = (compiled.protocol?.errors ?? openAiErrors).response(error, ctx.id);
    for (const [name, value] of Object.entries(ctx.responseHeaders))
      if (!response.headers.has(name)) response.headers.set(name, value);
    return response;
  }
}
