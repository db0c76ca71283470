import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createLogger } from '../../app/log.ts';
import { createMetrics, type Metrics } from '../../gateway/metrics.ts';
import { startHarness, type Harness } from '../gateway/harness.ts';

let h: Harness;
let metrics: Metrics;
const requestLines: string[] = [];
beforeAll(async () => {
  const { testDatabase } = await import('../helpers.ts');
  const { sql } = await testDatabase();
  metrics = createMetrics({
    sql,
    log: createLogger('info', (line) => requestLines.push(line)),
    redisShared: () => true,
  });
  h = await startHarness(
    {},
    { observe: (ctx, status) => metrics.observe(ctx, status), mount: (app) => metrics.mount(app) },
  );
});
afterAll(async () => {
  await h.close();
});

describe('/metrics and request logs', () => {
  test('counts requests by route and status, with a latency histogram and health gauges', async () => {
    const { key } = await h.customer('5');
    await h
      .client(key)
      .chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'hi' }] });
    await h
      .client('tg-AAAAAAAAAAAAAAAAAAAAAA000000')
      .chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'hi' }] })
      .catch(() => {});
    const response = await fetch(`${h.gateway.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('tollgate_requests_total{route="/v1/chat/completions",status="200"} 1');
    expect(text).toContain('tollgate_requests_total{route="/v1/chat/completions",status="401"} 1');
    expect(text).toContain('tollgate_request_duration_seconds_count{route="/v1/chat/completions"} 2');
    expect(text).toContain('tollgate_database_up 1');
    expect(text).toContain('tollgate_redis_up 1');
    expect(text).toMatch(/tollgate_holds_open \d+/);
    expect(text).toMatch(/tollgate_credit_spent_nanos \d+/);
  });

  test('logs one JSON line per request with its id, route, status and latency, and no key', async () => {
    const { key } = await h.customer('5');
    const answer = await h
      .client(key)
      .chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    const id = answer.response.headers.get('x-request-id');
    const line = requestLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.requestId === id);
    expect(line).toMatchObject({ message: 'request', route: '/v1/chat/completions', status: 200 });
    expect(typeof line?.latencyMs).toBe('number');
    expect(requestLines.join('\n')).not.toContain(key.slice(12));
  });

  test('counts upstream failures by kind: a 5xx answer, and an upstream that cannot be reached', async () => {
    const { key } = await h.customer('5');
    const client = h.client(key);
    const ask = (content: string) =>
      client.chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content }] }).then(
        () => 200,
        (e: { status?: number }) => e.status ?? -1,
      );
    expect(await ask('fail [[fake:status=500]]')).toBe(502);
    await h.upstream.close();
    expect(await ask('nobody there')).toBe(502);
    const text = await (await fetch(`${h.gateway.url}/metrics`)).text();
    expect(text).toContain('tollgate_upstream_errors_total{route="/v1/chat/completions",kind="status_5xx"} 1');
    expect(text).toContain('tollgate_upstream_errors_total{route="/v1/chat/completions",kind="unreachable"} 1');
  });
});
