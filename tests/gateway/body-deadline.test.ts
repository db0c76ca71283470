import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import net from 'node:net';
import { upsertPolicy } from '../../db/queries/rate-limit-policies.ts';
import { BODY_IDLE_TIMEOUT_MS } from '../../protocols/request-body.ts';
import { eventually, startHarness, type Harness } from './harness.ts';
import { rawExchange } from './raw-http.ts';

/** A request body that never arrives, or whose client goes away (issue 18, item 9). */

const ABANDONING_CLIENTS = 3_000;
const ABANDON_BATCH = 300;

let h: Harness;
let key: string;
beforeAll(async () => {
  h = await startHarness();
  const customer = await h.customer('5');
  key = customer.key;
  await upsertPolicy(
    h.sql,
    { kind: 'apiKey', id: customer.keyId },
    {
      requestsPerMinute: null,
      requestsPerHour: null,
      tokensPerMinute: null,
      concurrentRequests: 1,
      spendPerDayNanos: null,
      spendPerMonthNanos: null,
    },
  );
});
afterAll(async () => {
  await h.close();
});

const stalledHead = () =>
  `POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${key}\r\n` +
  'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"';

const chat = () =>
  fetch(`${h.gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'hi' }] }),
  });

describe('a body that stops arriving', () => {
  test(
    'is answered 408 and closed once the body read deadline passes, and the key’s only slot stays usable',
    async () => {
      const started = performance.now();
      const stalled = rawExchange(h.gateway.port, stalledHead(), BODY_IDLE_TIMEOUT_MS + 5_000);
      await Bun.sleep(200);
      // The stalled request holds no slot while its body is missing: the key's one slot serves this.
      expect((await chat()).status).toBe(200);
      const answer = await stalled;
      const elapsed = performance.now() - started;
      expect(answer.statuses).toEqual([408]);
      expect(answer.text).toContain('"code":"request_timeout"');
      expect(answer.closed).toBe(true);
      expect(elapsed).toBeGreaterThanOrEqual(BODY_IDLE_TIMEOUT_MS - 50);
      expect(elapsed).toBeLessThan(BODY_IDLE_TIMEOUT_MS + 3_000);
      expect((await chat()).status).toBe(200);
    },
    BODY_IDLE_TIMEOUT_MS + 15_000,
  );
});

function abandon(port: number, head: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(head, () => setTimeout(() => socket.destroy(), 20)),
    );
    socket.on('error', () => {});
    socket.on('close', () => resolve());
  });
}

describe('clients that go away mid-body', () => {
  test(`${ABANDONING_CLIENTS} of them write no error line, only info lines`, async () => {
    const from = h.logs.length;
    for (let sent = 0; sent < ABANDONING_CLIENTS; sent += ABANDON_BATCH)
      await Promise.all(Array.from({ length: ABANDON_BATCH }, () => abandon(h.gateway.port, stalledHead())));
    const closedLines = () =>
      h.logs.slice(from).filter((line) => line.includes('client closed the connection before its request body'));
    await eventually(
      async () => closedLines().length,
      (n) => n >= ABANDONING_CLIENTS,
    );
    const lines = h.logs.slice(from).map((line) => JSON.parse(line) as { level: string; message: string });
    expect(lines.filter((line) => line.level === 'error' || line.level === 'warn')).toEqual([]);
    expect(closedLines().length).toBe(ABANDONING_CLIENTS);
    expect(lines.filter((line) => line.message.includes('client closed')).every((l) => l.level === 'info')).toBe(true);
    expect((await chat()).status).toBe(200);
  }, 60_000);
});
