import type { Config } from '../app/config.ts';

/**
 * The session cookie: HttpOnly (scripts cannot read it), SameSite=Lax (other sites cannot send it
 * with their POSTs) and Secure whenever the public URL is https. SameSite alone is not the defence
 * against cross-site requests (a sibling subdomain is the same site): schema/csrf.ts is.
 */

export const SESSION_COOKIE = 'tollgate_session';
/** Where Clerk's frontend keeps its session token. */
export const CLERK_COOKIE = '__session';

function attributes(config: Config, maxAgeSeconds: number): string {
  const secure = config.publicUrl.startsWith('https:') || config.production ? '; Secure' : '';
  return `Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure}`;
}

export function sessionCookie(config: Config, token: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${token}; ${attributes(config, maxAgeSeconds)}`;
}

export function clearSessionCookie(config: Config): string {
  return `${SESSION_COOKIE}=; ${attributes(config, 0)}`;
}

export function readCookie(request: Request, name: string): string | undefined {
  const header = request.headers.get('cookie');
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator > 0 && part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim() || undefined;
  }
  return undefined;
}
