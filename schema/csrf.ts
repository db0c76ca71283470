import { CLERK_COOKIE, readCookie, SESSION_COOKIE } from './cookies.ts';

/**
 * Cross-site request forgery on /graphql. A browser attaches the session cookie to any request to
 * this host, including a form another site submits, and a form can send only "simple" bodies
 * (url-encoded, multipart, text/plain) which yoga would parse. So a request that a cookie would
 * authenticate must be a JSON POST (which a browser sends cross-origin only after a CORS preflight,
 * answered 403 for a stranger) and, when it names its Origin, one the CORS policy allows.
 * A JSON body is also required of POSTs with no credential at all, so another site cannot sign a
 * visitor in to its own account (login CSRF). Requests with `Authorization: Bearer` are untouched:
 * no browser adds that header for another site.
 */

type Handler = (request: Request) => Promise<Response>;
type OriginCheck = (request: Request, origin: string) => Promise<boolean>;

const JSON_MEDIA_TYPE = 'application/json';

function hasBearer(request: Request): boolean {
  return /^Bearer\s/i.test(request.headers.get('authorization') ?? '');
}

function hasSessionCookie(request: Request): boolean {
  return readCookie(request, SESSION_COOKIE) !== undefined || readCookie(request, CLERK_COOKIE) !== undefined;
}

function isJson(request: Request): boolean {
  const mediaType = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  return mediaType === JSON_MEDIA_TYPE;
}

function refused(status: number, message: string): Response {
  return Response.json({ errors: [{ message, extensions: { code: 'CSRF_REFUSED' } }] }, { status });
}

/** Why this request is refused, or undefined when it may run. */
async function refusal(request: Request, originAllowed: OriginCheck): Promise<Response | undefined> {
  if (request.method === 'OPTIONS' || hasBearer(request)) return undefined;
  const cookie = hasSessionCookie(request);
  if (request.method === 'POST' && !isJson(request))
    return refused(415, 'Send GraphQL requests as a POST with content-type: application/json.');
  if (!cookie) return undefined;
  // A GET without a query runs nothing (it is GraphiQL's page outside production).
  if (request.method !== 'POST' && new URL(request.url).searchParams.has('query'))
    return refused(403, 'A request signed in by cookie must be a POST with content-type: application/json.');
  const origin = request.headers.get('origin');
  if (origin !== null && !(await originAllowed(request, origin)))
    return refused(403, `A page on ${origin} may not act for a signed-in person here.`);
  return undefined;
}

export function withCsrfGuard(handler: Handler, originAllowed: OriginCheck): Handler {
  return async (request) => (await refusal(request, originAllowed)) ?? handler(request);
}
