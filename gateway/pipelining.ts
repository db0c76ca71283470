import type { Logger } from '../app/log.ts';
import { GatewayError } from '../core/errors.ts';
import { CLIENT_CLOSED_CODE } from '../protocols/request-body.ts';
import { errorResponse } from './errors.ts';

/**
 * HTTP/1.1 requests pipelined in one write. Bun (up to 1.4.5, the newest release) dispatches the
 * first request of a read at once, and when it then parses the next one while the first handler
 * is still pending it closes the connection without writing a byte (uWS keeps one response state
 * per socket; oven-sh/bun#38128 and #43273 are open, earlier fixes #32868, #33664 and #35036 were
 * closed unmerged). The first handler ran anyway: a chat completion was proxied and charged for an
 * answer nobody could receive.
 *
 * So nothing runs until the read that carried a request has been parsed to its end: every request
 * waits for the next turn of the event loop (one shared wait for all the requests of a turn), and
 * one whose connection Bun closed meanwhile is dropped unrun. The client sees the connection close
 * with no response, which HTTP/1.1 clients must be ready to retry (RFC 9112 §9.3.2), and nothing
 * was recorded, held or charged. Bun parses the rest of a read synchronously after the first
 * handler returns, and drains microtasks first, so a microtask would not be late enough.
 */

let turn: Promise<void> | null = null;

function endOfTurn(): Promise<void> {
  turn ??= new Promise((resolve) =>
    setImmediate(() => {
      turn = null;
      resolve();
    }),
  );
  return turn;
}

/** Never delivered (the connection is gone); it only ends the handler. */
const dropped = () =>
  errorResponse(
    new GatewayError(499, CLIENT_CLOSED_CODE, 'The connection closed before the request ran.'),
    Bun.randomUUIDv7(),
  );

/** `handle`, run only once Bun has parsed the rest of the read and still holds the connection open. */
export function afterTheRead(
  handle: (request: Request) => Response | Promise<Response>,
  log: Logger,
): (request: Request) => Promise<Response> {
  return async (request) => {
    await endOfTurn();
    if (!request.signal.aborted) return handle(request);
    log.info('connection closed before its request ran (pipelined behind another request?)', {
      path: new URL(request.url).pathname,
    });
    return dropped();
  };
}
