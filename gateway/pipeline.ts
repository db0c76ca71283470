import type { Observer, Outcome, Plugin } from '../plugins/types.ts';
import type { RequestContext } from '../plugins/context.ts';
import { GatewayError } from '../core/errors.ts';
import { asGatewayError, errorResponse } from './errors.ts';
import type { Logger } from '../app/log.ts';
import type { Route } from './routes.ts';
import { CLIENT_CLOSED_CODE } from '../protocols/request-body.ts';

/**
 * Runs one route's plugins for one request: admit in order, the one handler, then — when the
 * response body has ended, failed or been abandoned — settle in reverse order for every plugin
 * whose admit completed. `finish` is handed to the handler so a streamed body can report its end.
 */

export type CompiledRoute = { route: Route; plugins: Plugin[]; handler: Plugin };

export type Finish = (outcome: Outcome) => void;

/** Handed to the answering plugin: the observers of this request and the once-only end signal. */
export type Delivery = { observers: Observer[]; finish: Finish };

const deliveries = new WeakMap<RequestContext, Delivery & { claimed: boolean }>();

/**
 * A handler that streams claims the delivery and calls `finish` itself when the body ends;
 * for any other handler the runner finishes the request as soon as `handle` returns.
 */
export function claimDelivery(ctx: RequestContext): Delivery {
  const delivery = deliveries.get(ctx);
  if (!delivery) throw new Error('no delivery for this request: handle() called outside the pipeline');
  delivery.claimed = true;
  return delivery;
}

function settleAll(
  ctx: RequestContext,
  admitted: Plugin[],
  outcome: Outcome,
  log: Logger,
  onSettled: () => void,
): void {
  const run = async () => {
    for (let i = admitted.length - 1; i >= 0; i--) {
      const plugin = admitted[i] as Plugin;
      try {
        await plugin.settle?.(ctx, outcome);
      } catch (error) {
        log.error('settle failed', {
          requestId: ctx.id,
          plugin: plugin.name,
          reason: error instanceof Error ? error.message : String(error),
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
  const admitted: Plugin[] = [];
  let finished = false;
  const finish: Finish = (outcome) => {
    if (finished) return;
    finished = true;
    settleAll(ctx, admitted, outcome, log, onSettled);
  };
  try {
    for (const plugin of compiled.plugins) {
      if (plugin.admit) await plugin.admit(ctx);
      admitted.push(plugin);
    }
    const observers = compiled.plugins.map((p) => p.observe?.(ctx)).filter((o): o is Observer => o !== undefined);
    const delivery = { observers, finish, claimed: false };
    deliveries.set(ctx, delivery);
    const response = await (compiled.handler.handle as NonNullable<Plugin['handle']>)(ctx);
    if (!delivery.claimed)
      finish({ kind: 'completed', status: response.status, errorCode: null, producedOutput: true });
    for (const [name, value] of Object.entries(ctx.responseHeaders)) response.headers.set(name, value);
    response.headers.set('x-request-id', ctx.id);
    return response;
  } catch (thrown) {
    const error = asGatewayError(thrown);
    if (!(thrown instanceof GatewayError)) {
      log.error('request failed', {
        requestId: ctx.id,
        route: compiled.route.path,
        reason: thrown instanceof Error ? thrown.message : String(thrown),
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
    const response = errorResponse(error, ctx.id);
    for (const [name, value] of Object.entries(ctx.responseHeaders))
      if (!response.headers.has(name)) response.headers.set(name, value);
    return response;
  }
}
