import { error, json } from '@sveltejs/kit';
import { callV1 } from '$lib/server/api';
import { createPlaygroundKey, storedPlaygroundKey } from '$lib/server/playground-key';
import type { RequestHandler } from './$types';

/**
 * The playground's chat: relays one streamed chat completion from the gateway's
 * /v1/chat/completions to the browser, byte for byte, with usage (and its charge, `usage.cost`)
 * in the final chunk. The browser going away aborts the upstream call, which the gateway settles.
 */

const MAX_MESSAGES = 50;
const MAX_MESSAGE_CHARS = 20_000;
const KEY_PATTERN = /^tg-[A-Za-z0-9_-]{10,200}$/;

type ChatMessage = { role: 'user' | 'assistant' | 'system'; content: string };
type ChatRequest = { model: string; messages: ChatMessage[]; key?: string };

function parse(body: unknown): ChatRequest | string {
  if (typeof body !== 'object' || body === null) return 'The request must be a JSON object.';
  const { model, messages, key } = body as Record<string, unknown>;
  if (typeof model !== 'string' || !model) return 'Pick a model.';
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > MAX_MESSAGES) return `Send 1 to ${MAX_MESSAGES} messages.`;
  for (const message of messages as unknown[]) {
    const { role, content } = (message ?? {}) as Record<string, unknown>;
    if (role !== 'user' && role !== 'assistant' && role !== 'system') return 'A message role must be user, assistant or system.';
    if (typeof content !== 'string' || content.length > MAX_MESSAGE_CHARS) return `A message has at most ${MAX_MESSAGE_CHARS} characters.`;
  }
  if (key !== undefined && key !== '' && (typeof key !== 'string' || !KEY_PATTERN.test(key))) return 'That does not look like an API key (tg-…).';
  return { model, messages: messages as ChatMessage[], key: typeof key === 'string' && key ? key : undefined };
}

export const POST: RequestHandler = async (event) => {
  if (!event.locals.viewer?.account) error(401, 'Sign in to use the playground.');
  const request = parse(await event.request.json().catch(() => null));
  if (typeof request === 'string') return json({ error: { message: request } }, { status: 400 });

  const body = { model: request.model, messages: request.messages, stream: true, stream_options: { include_usage: true } };
  const send = (key: string) => callV1(event, '/chat/completions', key, body, event.request.signal);
  let key = request.key ?? storedPlaygroundKey(event.cookies);
  try {
    key ??= await createPlaygroundKey(event);
    let upstream = await send(key);
    // The stored playground key was revoked or expired: make a new one, once.
    if (upstream.status === 401 && !request.key) {
      await upstream.body?.cancel();
      upstream = await send(await createPlaygroundKey(event));
    }
    if (!upstream.ok || !upstream.body) {
      const payload = (await upstream.json().catch(() => null)) as { error?: { message?: string } } | null;
      return json({ error: { message: payload?.error?.message ?? `The gateway answered ${upstream.status}.` } }, { status: upstream.status });
    }
    return new Response(upstream.body, {
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-request-id': upstream.headers.get('x-request-id') ?? '' },
    });
  } catch (failure) {
    if (event.request.signal.aborted) return new Response(null, { status: 499 });
    const message = failure instanceof Error && 'code' in failure ? failure.message : 'The gateway is unreachable right now. Try again in a moment.';
    return json({ error: { message } }, { status: 502 });
  }
};
