import type { Cookies } from '@sveltejs/kit';
import { gql, type ApiCaller } from './api';
import { servedOverHttps } from './config';

/**
 * The playground calls /v1 like any app, so it needs an API key. Unless the person pastes one of
 * their own, the portal creates a key named "Playground" for them once and keeps its secret in an
 * HttpOnly cookie of this browser (scripts cannot read it); it shows in their key list like any
 * other, with its spend, and can be revoked there.
 */

export const PLAYGROUND_COOKIE = 'tg_playground_key';
const PLAYGROUND_KEY_NAME = 'Playground';
const COOKIE_MAX_AGE_SECONDS = 30 * 24 * 3600;

export function storedPlaygroundKey(cookies: Cookies): string | null {
  return cookies.get(PLAYGROUND_COOKIE) ?? null;
}

export async function createPlaygroundKey(caller: ApiCaller & { cookies: Cookies }): Promise<string> {
  const { createApiKey } = await gql<{ createApiKey: { key: string } }>(caller, 'mutation PlaygroundKey($input: ApiKeyInput!) { createApiKey(input: $input) { key } }', {
    input: { name: PLAYGROUND_KEY_NAME },
  });
  caller.cookies.set(PLAYGROUND_COOKIE, createApiKey.key, { path: '/playground', httpOnly: true, sameSite: 'strict', secure: servedOverHttps(caller.url), maxAge: COOKIE_MAX_AGE_SECONDS });
  return createApiKey.key;
}
