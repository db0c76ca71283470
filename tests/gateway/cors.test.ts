import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { setTenantCors } from '../../db/queries/cors-origins.ts';
import { CORS_CACHE_TTL_MS } from '../../cors/policies.ts';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const CHAT = { model: 'fake/gpt-small', messages: [{ role: 'user', content: 'hi' }] };

function preflight(origin: string, host?: string): Promise<Response> {
  return fetch(`${h.gateway.url}/v1/chat/completions`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
      ...(host ? { host } : {}),
    },
  });
}

function chatFrom(origin: string | undefined, key: string): Promise<Response> {
  return fetch(`${h.gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { ...(origin ? { origin } : {}), authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(CHAT),
  });
}

async function requestCount(accountId: string): Promise<number> {
  const [row] = await h.sql<
    { n: number }[]
  >`select count(*)::int4 as n from requests where account_id = ${accountId}::uuid`;
  return row?.n ?? 0;
}

describe('with no origins configured', () => {
  test('a browser preflight for /v1/chat/completions from any origin is allowed without credentials', async () => {
    const response = await preflight('https://some-app.example');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS');
    expect(response.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    expect(response.headers.get('access-control-max-age')).toBe('600');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
  });

  test('a cross-origin chat completion works and exposes the request id and rate-limit headers', async () => {
    const { key } = await h.customer('1');
    const response = await chatFrom('https://some-app.example', key);
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const exposed = response.headers.get('access-control-expose-headers') ?? '';
    for (const header of ['x-request-id', 'retry-after', 'x-ratelimit-remaining-requests'])
      expect(exposed).toContain(header);
    const refused = await fetch(`${h.gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { origin: 'https://some-app.example' },
      body: '{}',
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
  });

  test('the openai SDK sending an Origin header gets its completion and the request id', async () => {
    const { key } = await h.customer('1');
    const client = new OpenAI({
      apiKey: key,
      baseURL: `${h.gateway.url}/v1`,
      maxRetries: 0,
      defaultHeaders: { origin: 'https://browser-app.example' },
    });
    const { data, response } = await client.chat.completions
      .create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'hello' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBeTruthy();
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('when the tenant lists its allowed origins', () => {
  const ALLOWED = 'https://app.allowed.example';
  let customer: Awaited<ReturnType<Harness['customer']>>;
  beforeAll(async () => {
    customer = await h.customer('1');
    await h.sql`update tenants set custom_domain = 'api.root.example' where id = ${h.rootTenantId}::uuid`;
    await setTenantCors(h.sql, h.rootTenantId, { api: [ALLOWED] });
    await Bun.sleep(CORS_CACHE_TTL_MS + 100);
  });

  test('a browser on another origin is refused with 403 before anything is held or charged', async () => {
    const before = await requestCount(customer.account.id);
    const response = await chatFrom('https://evil.example', customer.key);
    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const body = (await response.json()) as { error: { code: string } };
    expect(body.error.code).toBe('origin_not_allowed');
    expect(await requestCount(customer.account.id)).toBe(before);
  });

  test('a browser on a listed origin is served and the answer names that origin', async () => {
    const response = await chatFrom(ALLOWED, customer.key);
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(response.headers.get('vary')).toContain('Origin');
  });

  test('a server-side call without an Origin header is not affected', async () => {
    expect((await chatFrom(undefined, customer.key)).status).toBe(200);
  });

  test("a preflight on the tenant's domain is refused for another origin and allowed for a listed one", async () => {
    const refused = await preflight('https://evil.example', 'api.root.example');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await preflight(ALLOWED, 'api.root.example');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  });
});
