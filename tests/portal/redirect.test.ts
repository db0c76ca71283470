import { describe, expect, test } from 'bun:test';
import { MAX_REDIRECT_TARGET_LENGTH, redirectTarget } from '../../portal/src/lib/redirect.ts';

/**
 * The portal's one redirect check (`/signin?next=`), against the known ways out of a site. Each
 * target is what the portal reads from the query string, i.e. already percent-decoded once.
 */

const FALLBACK = '/dashboard';
const decoded = (encoded: string) => decodeURIComponent(encoded);

/** Where a browser would really go: the target resolved as a Location header against the portal. */
function landsOn(target: string): string {
  return new URL(target, 'https://portal.example').host;
}

const BYPASSES: [string, string][] = [
  ['a tab before a second slash', decoded('/%09/evil.example')],
  ['a tab and an encoded backslash', decoded('/%09%5Cevil.example')],
  ['a tab, then a backslash pair', decoded('%09%5C%5Cevil.example')],
  ['two slashes', '//evil.example'],
  ['a slash and a backslash', '/\\evil.example'],
  ['a backslash and a slash', '\\/evil.example'],
  ['two backslashes', '\\\\evil.example'],
  ['a newline between the slashes', decoded('/%0a/evil.example')],
  ['a carriage return between the slashes', decoded('/%0d/evil.example')],
  ['a NUL byte', decoded('/%00/evil.example')],
  ['a leading space and two slashes', ' //evil.example'],
  ['an absolute URL', 'https://evil.example/'],
  ['a scheme-relative URL with credentials', '//user@evil.example'],
  ['a javascript: URL', 'javascript:alert(1)'],
  ['a data: URL', 'data:text/html,<script>alert(1)</script>'],
  ['a dot segment that leaves two slashes', '/.//evil.example'],
  ['a path of two slashes after a dot-dot', '/..//evil.example'],
  ['an encoded slash pair decoded twice', decoded(decoded('%252F%252Fevil.example'))],
  ['a vertical tab', '/\u000b/evil.example'],
  ['a C1 control character', '/\u0085/evil.example'],
  ['nothing at all', ''],
  ['a relative path', 'dashboard'],
];

describe('redirectTarget', () => {
  test.each(BYPASSES)('refuses %s', (_name, target) => {
    expect(redirectTarget(target, FALLBACK)).toBe(FALLBACK);
  });

  test('whatever the bypass, the answer keeps the browser on the portal', () => {
    for (const [, target] of BYPASSES) expect(landsOn(redirectTarget(target, FALLBACK))).toBe('portal.example');
  });

  test.each([
    ['/usage', '/usage'],
    ['/usage?model=fake/gpt&from=2025-01-01', '/usage?model=fake/gpt&from=2025-01-01'],
    ['/keys#new', '/keys#new'],
    ['/a/../keys', '/keys'],
    ['/café', '/caf%C3%A9'],
    ['/%2F%2Fevil.example', '/%2F%2Fevil.example'],
  ])('lets the same-site path %p through as %p', (target, expected) => {
    expect(redirectTarget(target, FALLBACK)).toBe(expected);
    expect(landsOn(expected)).toBe('portal.example');
  });

  test('refuses a target longer than the limit', () => {
    expect(redirectTarget(`/${'a'.repeat(MAX_REDIRECT_TARGET_LENGTH)}`, FALLBACK)).toBe(FALLBACK);
  });

  test('the fallback is what the caller gives', () => {
    expect(redirectTarget(null, '/admin')).toBe('/admin');
    expect(redirectTarget(undefined, '')).toBe('');
  });
});
