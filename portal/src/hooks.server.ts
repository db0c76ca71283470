import type { Handle, HandleServerError } from '@sveltejs/kit';
import { ApiError, gql } from '$lib/server/api';
import { clearSession, SESSION_COOKIE } from '$lib/server/session';
import type { Branding, Viewer } from '$lib/types';

/**
 * Every request learns, in one API call, whose portal this is (the branding of the tenant the
 * host belongs to) and who is signed in. A session the API no longer accepts is dropped here, so
 * a stale cookie never locks anyone out.
 */

const CONTEXT = `query PortalContext {
  tenant { branding { name logoUrl primaryColor secondaryColor supportEmail publicApiUrl headline tagline } }
  viewer { kind role isAdmin isOperator account { id email displayName balance { available { nanos usd } } } tenant { id name slug } }
}`;

type Context = { tenant: { branding: Branding }; viewer: Viewer | null };

const FALLBACK_BRANDING: Branding = { name: 'Tollgate', logoUrl: null, primaryColor: null, secondaryColor: null, supportEmail: null, publicApiUrl: null, headline: null, tagline: null };

const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

/** A form post from another site is refused: its Origin must name the host it was posted to. */
function crossSiteForm(request: Request): boolean {
  if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return false;
  const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!FORM_TYPES.includes(type)) return false;
  const origin = request.headers.get('origin');
  const host = request.headers.get('host');
  return origin === null || host === null || !URL.canParse(origin) || new URL(origin).host !== host;
}

export const handle: Handle = async ({ event, resolve }) => {
  if (crossSiteForm(event.request)) return new Response('Cross-site form submissions are refused.', { status: 403 });
  event.locals.session = event.cookies.get(SESSION_COOKIE) ?? null;
  event.locals.viewer = null;
  event.locals.branding = FALLBACK_BRANDING;
  event.locals.unavailable = false;
  try {
    let context: Context;
    try {
      context = await gql<Context>(event, CONTEXT);
    } catch (error) {
      if (!(error instanceof ApiError) || (error.code !== 'UNAUTHENTICATED' && error.code !== 'FORBIDDEN') || !event.locals.session) throw error;
      clearSession(event.cookies, event.url);
      event.locals.session = null;
      context = await gql<Context>(event, CONTEXT);
    }
    event.locals.branding = context.tenant.branding;
    event.locals.viewer = context.viewer;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    event.locals.unavailable = true;
  }
  const response = await resolve(event);
  response.headers.set('x-frame-options', 'DENY');
  response.headers.set('referrer-policy', 'same-origin');
  response.headers.set('x-content-type-options', 'nosniff');
  return response;
};

export const handleError: HandleServerError = ({ error, status }) => {
  if (error instanceof ApiError) return { message: error.message };
  if (status === 404) return { message: 'This page does not exist.' };
  console.error('portal:', error instanceof Error ? error.message : String(error));
  return { message: 'Something went wrong on our side. Try again in a moment.' };
};
