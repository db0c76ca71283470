import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

test('a browser preflight for /v1/chat/completions from any origin is allowed without credentials', async () => {
  const response = await fetch(`${h.gateway.url}/v1/chat/completions`, {
    method: 'OPTIONS',
    headers: { origin: 'https://some-app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });
  expect(response.status).toBe(204);
  expect(response.headers.get('access-control-allow-origin')).toBe('*');
  expect(response.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
  expect(response.headers.get('access-control-allow-credentials')).toBeNull();
});

test('a cross-origin chat completion works and exposes the request id and rate-limit headers', async () => {
  const { key } = await h.customer('1');
  const response = await fetch(`${h.gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { origin: 'https://some-app.example', authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'hi' }] }),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('access-control-allow-origin')).toBe('*');
  expect(response.headers.get('access-control-expose-headers')).toContain('x-request-id');
  const refused = await fetch(`${h.gateway.url}/v1/chat/completions`, { method: 'POST', headers: { origin: 'https://some-app.example' }, body: '{}' });
  expect(refused.status).toBe(401);
  expect(refused.headers.get('access-control-allow-origin')).toBe('*');
});
