import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { type Harness, startHarness } from '../gateway/harness.ts';

/** `model-access` on a paid route and on a free one: the same 404 and 403, before anything is held or sent (in-process). */

let h: Harness;
beforeAll(async () => {
  const routesFile = join(mkdtempSync(join(tmpdir(), 'tollgate-routes-')), 'routes.json');
  const free = { method: 'POST', path: '/v1/free/chat/completions', endpoint: 'chat', free: true };
  writeFileSync(
    routesFile,
    JSON.stringify({ routes: [{ ...free, plugins: ['auth', 'ratelimit', 'model-access', 'proxy'] }] }),
  );
  h = await startHarness({ TOLLGATE_ROUTES_FILE: routesFile }, { listen: false });
});
afterAll(() => h.close());

const ask = (client: OpenAI, model: string, path = '/chat/completions') =>
  client.post(path, { body: { model, messages: [{ role: 'user', content: 'hi' }] } });

describe('model-access', () => {
  test('a key limited to some models is refused 403 for another on a paid route, and nothing is sent upstream', async () => {
    const { key } = await h.customer('1.00', { allowedModels: ['fake/gpt-small'] });
    const client = h.client(key);
    const before = h.upstream.requests.length;
    const error = await ask(client, 'fake/gpt-large').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('model_not_allowed');
    expect(h.upstream.requests.length).toBe(before);
    await expect(ask(client, 'fake/gpt-small')).resolves.toBeDefined();
  });

  test('the same key is refused 403 on a free route too', async () => {
    const { key } = await h.customer('0', { allowedModels: ['fake/gpt-small'] });
    const error = await ask(h.client(key), 'fake/gpt-large', '/free/chat/completions').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    await expect(ask(h.client(key), 'fake/gpt-small', '/free/chat/completions')).resolves.toBeDefined();
  });

  test('a fallback model in `models` is checked on the Messages and Responses routes too, and nothing is sent upstream', async () => {
    const { key } = await h.customer('1.00', { allowedModels: ['fake/gpt-small'] });
    const before = h.upstream.requests.length;
    const bodies: [string, Record<string, unknown>][] = [
      ['/v1/messages', { max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }],
      ['/v1/responses', { input: 'hi' }],
    ];
    for (const [path, body] of bodies) {
      const answer = await h.req(path, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, model: 'fake/gpt-small', models: ['fake/gpt-large'] }),
      });
      expect(answer.status).toBe(403);
      expect(await answer.text()).toContain('fake/gpt-large');
    }
    expect(h.upstream.requests.length).toBe(before);
  });

  test('an unknown model is 404 model_not_found naming the model, on paid and free routes', async () => {
    const { key } = await h.customer('1.00');
    for (const path of ['/chat/completions', '/free/chat/completions']) {
      const error = await ask(h.client(key), 'fake/none', path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain('fake/none');
    }
  });
});
