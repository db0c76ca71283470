import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { walletBalance } from '../../db/queries/transfers.ts';
import { startHarness, type Harness } from './harness.ts';
import { rawExchange } from './raw-http.ts';

/**
 * HTTP/1.1 requests pipelined in one write (issue 18, item 11). Bun closes such a connection
 * without a byte when a handler ahead is still pending; the gateway must then have run nothing.
 */

const PIPELINE_WAIT_MS = 1_500;

describe('the pinned Bun', () => {
  test('still answers nothing to requests pipelined behind an async handler (drop the guard once this fails)', async () => {
    let started = 0;
    const server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      async fetch() {
        started += 1;
        await Bun.sleep(5);
        return new Response('ok');
      },
    });
    try {
      const answer = await rawExchange(
        server.port ?? 0,
        'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n',
        PIPELINE_WAIT_MS,
      );
      expect(answer.statuses).toEqual([]);
      expect(started).toBe(1);
    } finally {
      await server.stop(true);
    }
  });
});

describe('pipelined requests to the gateway', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const chatRequest = (key: string) => {
    const body = JSON.stringify({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'hi' }] });
    return (
      `POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${key}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    );
  };

  test('two chat completions in one write run nothing and charge nothing, and the connection is closed', async () => {
    const { key, account } = await h.customer('5');
    const before = await walletBalance(h.sql, account.walletId);
    const upstreamBefore = h.upstream.requests.length;
    const answer = await rawExchange(h.gateway.port, chatRequest(key) + chatRequest(key), PIPELINE_WAIT_MS);
    expect(answer.closed).toBe(true);
    await Bun.sleep(300);
    expect(h.upstream.requests.length).toBe(upstreamBefore);
    const after = await walletBalance(h.sql, account.walletId);
    expect(after).toEqual(before);
    const [usage] = await h.sql<
      { n: number }[]
    >`select count(*)::int as n from requests where account_id = ${account.id}`;
    expect(usage?.n).toBe(0);
    const [holds] = await h.sql<{ n: number }[]>`
      select count(*)::int as n from holds where wallet_id = ${account.walletId.toString()}::int8`;
    expect(holds?.n).toBe(0);
  });

  test('one request per write on a kept-alive connection is still served, each in turn', async () => {
    const { key } = await h.customer('5');
    for (let i = 0; i < 3; i++) {
      const answer = await rawExchange(
        h.gateway.port,
        chatRequest(key).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'),
      );
      expect(answer.statuses).toEqual([200]);
    }
  });
});
