import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startHarness, type Harness } from './harness.ts';
import { rawExchange, rawGet } from './raw-http.ts';

/** Routing by the exact path as written, whatever the Host header (issue 18, item 8). */

let h: Harness;
beforeAll(async () => {
  // A stand-in for the GraphQL endpoint the platform mounts: only whether it is reached matters.
  h = await startHarness({}, { mount: (app) => app.all('/graphql', () => new Response('graphql reached')) });
});
afterAll(async () => {
  await h.close();
});

describe('routing whatever the Host header', () => {
  test('a Host of one to four characters, or with a port, reaches the same routes', async () => {
    for (const host of ['a', 'ab', 'abc', 'abcd', `127.0.0.1:${h.gateway.port}`]) {
      expect({ host, status: await rawGet(h.gateway.port, '/v1/models', host) }).toEqual({ host, status: 200 });
      expect({ host, status: await rawGet(h.gateway.port, '/healthz', host) }).toEqual({ host, status: 200 });
    }
  });

  test('a path under /v1 never reaches the route its tail names, whatever the Host', async () => {
    for (const host of ['a', 'abc', 'localhost']) {
      for (const path of ['/v1/healthz', '/v1/v1/models', '/v1/graphql'])
        expect({ host, path, status: await rawGet(h.gateway.port, path, host) }).toEqual({ host, path, status: 404 });
    }
  });

  test('POST /v1/webhooks/stripe is not the Stripe webhook', async () => {
    const body = '{"id":"evt_1"}';
    const answer = await rawExchange(
      h.gateway.port,
      `POST /v1/webhooks/stripe HTTP/1.1\r\nHost: abc\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(answer.statuses).toEqual([404]);
    expect(answer.text).toContain('"code":"not_found"');
  });

  test('a Host header Bun cannot make a URL of is refused with 400', async () => {
    expect(await rawGet(h.gateway.port, '/v1/models', '')).toBe(400);
    expect(await rawGet(h.gateway.port, '/v1/models', 'a/b')).toBe(400);
  });
});

describe('dot segments and encoded separators', () => {
  const refused = [
    '/v1/%2e%2e/graphql',
    '/v1/%2E%2e/graphql',
    '/v1/../graphql',
    '/v1/./models',
    '/v1/.%2e/healthz',
    '/v1\\models',
    '/v1%2fmodels',
    '/v1%2Fmodels',
    '/v1%5cmodels',
    '/v1/models/%2e%2e',
    '/v1/models/x/..',
    '/v1/models/./fake/cheap',
    '/v1/models#x',
  ];
  test.each(refused)('%s is refused with 400 and reaches nothing', async (target) => {
    const answer = await rawExchange(
      h.gateway.port,
      `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
    );
    expect(answer.statuses).toEqual([400]);
    expect(answer.text).toContain('"type":"invalid_request_error"');
    expect(answer.text).not.toContain('graphql reached');
  });

  test('a model id with its slash encoded, as the SDKs send it, still finds the model', async () => {
    expect(await rawGet(h.gateway.port, '/v1/models/fake%2Fcheap')).toBe(200);
    expect(await rawGet(h.gateway.port, '/v1/models/fake/cheap')).toBe(200);
  });

  test('an unknown path is still 404, and the canonical ones still answer', async () => {
    expect(await rawGet(h.gateway.port, '/nope')).toBe(404);
    expect(await rawGet(h.gateway.port, '/v1/models?after=x/y')).toBe(200);
    expect(await rawGet(h.gateway.port, '/graphql')).toBe(200);
  });
});
