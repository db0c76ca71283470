import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { walletBalance } from '../../db/queries/transfers.ts';
import { UPSTREAM_END_AFTER_DONE_MS } from '../../plugins/proxy/sse-relay.ts';
import { eventually, startHarness, type Harness } from './harness.ts';

/** An upstream that answers 200 with something that is not a JSON object: a 502, and the hold is released. */

const BODIES = ['null', '42', '[1,2]', 'not json'];
let h: Harness;
let upstream: ReturnType<typeof Bun.serve>;
let next = '';
beforeAll(async () => {
  upstream = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: () => new Response(next, { headers: { 'content-type': 'application/json' } }),
  });
  const routesFile = join(mkdtempSync(join(tmpdir(), 'tollgate-routes-')), 'routes.json');
  const proxy = { name: 'proxy', options: { baseUrl: `http://127.0.0.1:${upstream.port}` } };
  writeFileSync(
    routesFile,
    JSON.stringify({
      routes: [
        {
          method: 'POST',
          path: '/v1/odd/chat/completions',
          endpoint: 'chat',
          plugins: ['auth', 'ratelimit', 'model-access', 'balance', proxy, 'meter', 'debit'],
        },
      ],
    }),
  );
  h = await startHarness({ TOLLGATE_ROUTES_FILE: routesFile });
});
afterAll(async () => {
  await h.close();
  await upstream.stop(true);
});

test('a 200 answer that is not a JSON object is 502 upstream_invalid_response, never relayed, and nothing is charged', async () => {
  const { key, account } = await h.customer('1');
  for (const body of BODIES) {
    next = body;
    const response = await fetch(`${h.gateway.url}/v1/odd/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const answer = (await response.json()) as { error?: { code?: string } };
    expect([body, response.status, answer.error?.code]).toEqual([body, 502, 'upstream_invalid_response']);
  }
  const settled = await eventually(
    () => walletBalance(h.sql, account.walletId),
    (b) => b?.heldNanos === 0n,
  );
  expect(settled?.availableNanos).toBe(1_000_000_000n);
});

test('an implausible usage report (1e20 tokens, a $1e300 cost) is ignored: the request is settled by the estimate, flagged, never left open', async () => {
  const { key, account } = await h.customer('1');
  next = JSON.stringify({
    id: 'gen-garbage-usage',
    object: 'chat.completion',
    model: 'fake/gpt-small',
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'hello' } }],
    usage: { prompt_tokens: 1e20, completion_tokens: 5, total_tokens: 1e20, cost: 1e300 },
  });
  const response = await fetch(`${h.gateway.url}/v1/odd/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }),
  });
  expect(response.status).toBe(200);
  // The customer is shown the price of the estimate it is charged, not the report's.
  const answer = (await response.json()) as { usage: { cost?: number } };
  expect(answer.usage.cost).toBeLessThan(0.001);
  const settled = await eventually(
    () => walletBalance(h.sql, account.walletId),
    (b) => b?.heldNanos === 0n && (b?.availableNanos ?? 0n) < 1_000_000_000n,
    15_000,
  );
  expect(settled?.availableNanos).toBeGreaterThan(0n);
  const [row] = await h.sql<
    { estimated: boolean; usage_distrusted: boolean }[]
  >`select estimated, usage_distrusted from requests where account_id = ${account.id}::uuid`;
  expect(row).toEqual({ estimated: true, usage_distrusted: true });
}, 30_000);

test('an upstream that never ends its body after [DONE] is cut: the client is answered at once, the connection is not kept', async () => {
  const { key } = await h.customer('1');
  const abortedBefore = h.upstream.aborted;
  const stream = await h.client(key).chat.completions.create({
    model: 'fake/gpt-small',
    messages: [{ role: 'user', content: 'and then silence [[fake:chunks=2,linger_ms=600000]]' }],
    stream: true,
  });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  expect(text).toBe('tok0 tok1 ');
  expect(h.upstream.aborted).toBe(abortedBefore);
  const aborted = await eventually(
    async () => h.upstream.aborted,
    (n) => n > abortedBefore,
    UPSTREAM_END_AFTER_DONE_MS + 3_000,
  );
  expect(aborted).toBe(abortedBefore + 1);
}, 15_000);
