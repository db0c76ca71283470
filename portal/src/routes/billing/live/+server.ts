import { error } from '@sveltejs/kit';
import { subscribe } from '$lib/server/api';
import type { RequestHandler } from './$types';

/**
 * The live balance for the browser: the API's `balanceUpdated` subscription (GraphQL over SSE),
 * relayed as-is. The browser's EventSource only reaches the portal, with the portal's cookie; the
 * portal calls the API with the session as a bearer token, so the token never reaches a script.
 * When the browser goes away, the upstream subscription is cancelled with it.
 */

const BALANCE = 'subscription LiveBalance { balanceUpdated { available { nanos usd } held { nanos usd } paid { nanos usd } granted { nanos usd } } }';

export const GET: RequestHandler = async (event) => {
  if (!event.locals.viewer?.account) error(401, 'Sign in to follow your balance.');
  let upstream: Response;
  try {
    upstream = await subscribe(event, BALANCE, event.request.signal);
  } catch {
    error(503, 'The live balance is unavailable right now.');
  }
  if (!upstream.ok || !upstream.body) error(502, 'The live balance is unavailable right now.');
  return new Response(upstream.body, {
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
  });
};
