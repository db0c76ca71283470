import type { Elysia } from 'elysia';
import { GatewayError } from '../core/errors.ts';
import type { Logger } from '../app/log.ts';
import { errorResponse, notFound } from './errors.ts';
import { afterTheRead } from './pipelining.ts';

/**
 * Which handler a request reaches is decided by its path exactly as written on the wire, whatever
 * the Host header. Bun builds `request.url` with the URL parser, which resolves `.` and `..`
 * (also spelled `%2e`), reads `\` as `/` and ends the path at `#`, so the path a handler sees can
 * differ from the one the client wrote: `/v1/%2e%2e/graphql` arrived as `/graphql`. Bun's own
 * route table, though, matches the raw request-target. So every route is registered there by its
 * literal path: a request that matches one is canonical and goes on to the app; anything else
 * falls through to `fallback`, which answers 400 when its normalised path names a route or holds
 * an encoded separator (the raw spelling was not canonical) and 404 otherwise, running nothing.
 *
 * Elysia finds the path by searching for the first `/` after a fixed offset (11 by default, "for
 * standard hostnames"): a Host of three characters or fewer moved the path start past `/v1`, so
 * `/v1/metrics` reached `/metrics`. The app is built with `standardHostname: false` (offset 7,
 * just after `http://`), which is right for every `http://` URL; Bun serves plain HTTP here, and a
 * Host that Bun cannot make a URL of (empty, or with `/`, `?`, `#`, `@`) leaves `request.url`
 * relative: such a request is refused as RFC 9112 §3.2 asks.
 */

export const ELYSIA_HANDLER_OPTIONS = { standardHostname: false } as const;

const SCHEME = 'http://';
/** Encoded `.`, `/` and `\`: never part of a canonical route path outside a parameter. */
const ENCODED_SEPARATOR = /%2e|%2f|%5c/i;

type Handler = (request: Request) => Response | Promise<Response>;
type RoutedRequest = Request & { params?: Record<string, string> };

const badHost = () =>
  errorResponse(new GatewayError(400, 'invalid_host', 'The Host header is not a valid host.'), Bun.randomUUIDv7());
const nonCanonical = () =>
  errorResponse(
    new GatewayError(
      400,
      'invalid_path',
      'The request path is not in canonical form: dot segments, backslashes and encoded separators are refused.',
    ),
    Bun.randomUUIDv7(),
  );

/** The path of an absolute `http://` URL (without query or fragment), or null when the URL has no host. */
function pathOf(url: string): string | null {
  if (!url.startsWith(SCHEME)) return null;
  const start = url.indexOf('/', SCHEME.length);
  if (start <= SCHEME.length) return start === -1 ? '/' : null;
  let end = url.indexOf('?', start);
  if (end === -1) end = url.length;
  const hash = url.indexOf('#', start);
  return url.slice(start, hash !== -1 && hash < end ? hash : end);
}

/** Bun decodes a parameter's invalid percent-encoding to U+FFFD; such a segment is kept as it is. */
function sameParameter(segment: string, matched: string | undefined): boolean {
  try {
    return decodeURIComponent(segment) === matched;
  } catch {
    return true;
  }
}

/**
 * Whether the normalised path still says what the raw target said: the same segments, each
 * parameter's (decoded) text the one Bun matched on the raw target. A dot segment removes
 * segments and a backslash adds one, so the counts differ; a `#` cuts a parameter short.
 */
function sameAsMatched(pattern: readonly string[], path: string, params: Record<string, string>): boolean {
  const segments = path.split('/');
  if (segments.length !== pattern.length) return false;
  return pattern.every((part, i) =>
    part.startsWith(':') ? sameParameter(segments[i] as string, params[part.slice(1)]) : part === segments[i],
  );
}

function namesRoute(patterns: readonly (readonly string[])[], path: string): boolean {
  const segments = path.split('/');
  return patterns.some(
    (pattern) =>
      pattern.length === segments.length &&
      pattern.every((part, i) => (part.startsWith(':') ? segments[i] !== '' : part === segments[i])),
  );
}

/** Bun.serve's `routes` and `fetch` for an app whose routes are all registered. */
export function exactRouting(app: Elysia, log: Logger): { routes: Record<string, Handler>; fetch: Handler } {
  const handle = afterTheRead((request) => app.handle(request), log);
  const paths = [...new Set(app.routes.map((route) => route.path))];
  const patterns = paths.map((path) => path.split('/'));
  const routes: Record<string, Handler> = {};
  for (const path of paths) {
    const pattern = path.split('/');
    routes[path] = pattern.some((part) => part.startsWith(':'))
      ? (request: RoutedRequest) => {
          const actual = pathOf(request.url);
          if (actual === null) return badHost();
          return sameAsMatched(pattern, actual, request.params ?? {}) ? handle(request) : nonCanonical();
        }
      : (request) => (request.url.startsWith(SCHEME) ? handle(request) : badHost());
  }
  const fetch: Handler = (request) => {
    const path = pathOf(request.url);
    if (path === null) return badHost();
    if (ENCODED_SEPARATOR.test(path) || namesRoute(patterns, path)) return nonCanonical();
    return errorResponse(notFound(), Bun.randomUUIDv7());
  };
  return { routes, fetch };
}
