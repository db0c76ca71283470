import type { Cookies } from '@sveltejs/kit';
import { servedOverHttps } from './config';

/**
 * The portal keeps the API session token in its own cookie: HttpOnly (page scripts never see it),
 * SameSite=Lax (other sites cannot post forms with it), Secure on https. The portal server sends
 * it to the API as a bearer token; the browser never talks to the API with it.
 */

export const SESSION_COOKIE = 'tg_portal_session';
const SESSION_MAX_AGE_SECONDS = 30 * 24 * 3600;

export function setSession(cookies: Cookies, url: URL, token: string): void {
  cookies.set(SESSION_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'lax', secure: servedOverHttps(url), maxAge: SESSION_MAX_AGE_SECONDS });
}

export function clearSession(cookies: Cookies, url: URL): void {
  cookies.delete(SESSION_COOKIE, { path: '/', secure: servedOverHttps(url) });
}
