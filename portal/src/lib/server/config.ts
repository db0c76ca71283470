import { env } from '$env/dynamic/private';
import type { Branding } from '$lib/types';

/**
 * The portal's only reader of the environment, read when the server starts.
 * - TOLLGATE_API_URL: where the gateway (and its /graphql) listens, from the portal server's view.
 * - TOLLGATE_PUBLIC_API_URL: the gateway's address as customers reach it, shown in the quick start
 *   and the code snippets; the API URL when unset. A reseller's own address replaces it for its
 *   customers (customerBaseUrl).
 */

const DEFAULT_API_URL = 'http://127.0.0.1:8787';

function baseUrl(name: string, raw: string | undefined, fallback: string): string {
  const value = raw?.trim() || fallback;
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw new Error(`${name}: must be an http(s) URL, got "${value}"`);
  }
  return value.replace(/\/+$/, '');
}

export const apiUrl = baseUrl('TOLLGATE_API_URL', env.TOLLGATE_API_URL, DEFAULT_API_URL);
const publicApiUrl = baseUrl('TOLLGATE_PUBLIC_API_URL', env.TOLLGATE_PUBLIC_API_URL, apiUrl);

/**
 * The OpenAI-style base URL (…/v1) the customers of this host's tenant call: the tenant's own
 * (set in its branding, else its proved custom domain), else the installation's.
 */
export function customerBaseUrl(branding: Branding): string {
  return `${branding.publicApiUrl ?? publicApiUrl}/v1`;
}

/**
 * adapter-node never terminates TLS itself: without ORIGIN or a PROTOCOL_HEADER from a proxy in
 * front, the browser reached the portal over plain http, whatever adapter-node guesses.
 */
export function servedOverHttps(url: URL): boolean {
  if (env.ORIGIN) return env.ORIGIN.startsWith('https:');
  if (env.PROTOCOL_HEADER) return url.protocol === 'https:';
  return false;
}
