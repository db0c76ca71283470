/**
 * The one check of where the portal may send a browser after signing in (`?next=`). Only a path
 * on the portal itself passes; anything else gets the fallback.
 *
 * Browsers drop tabs and newlines anywhere in a URL and read a backslash as a slash, so
 * `/\t/evil.example` and `/\evil.example` both mean `//evil.example`, another site. A target with
 * a control character or a backslash is therefore refused outright; the rest is parsed as the
 * browser would parse it, against a placeholder origin, and must stay on that origin with a path
 * that does not itself start with `//`. What is returned is the parsed form, percent-encoded, so
 * it is always a valid Location header.
 */

/** Longer targets are not links anyone followed; a Location header stays well under server limits. */
export const MAX_REDIRECT_TARGET_LENGTH = 2_048;
const PLACEHOLDER_ORIGIN = 'http://portal.invalid';
const CONTROL_OR_BACKSLASH = /[\u0000-\u001f\u007f-\u009f\\]/;

export function redirectTarget(raw: string | null | undefined, fallback: string): string {
  if (!raw || raw.length > MAX_REDIRECT_TARGET_LENGTH || CONTROL_OR_BACKSLASH.test(raw)) return fallback;
  if (!raw.startsWith('/') || raw.startsWith('//')) return fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw, PLACEHOLDER_ORIGIN);
  } catch {
    return fallback;
  }
  if (parsed.origin !== PLACEHOLDER_ORIGIN || parsed.pathname.startsWith('//')) return fallback;
  return `${parsed.pathname}${parsed.search}${parsed.hash}`;
}
