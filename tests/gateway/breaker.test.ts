import { afterAll, beforeAll, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { createLogger } from '../../app/log.ts';
import { createMetrics } from '../../gateway/metrics.ts';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream.ts';
import { testDatabase } from '../helpers.ts';
import { addChannel, changeChannel, requestRow } from './channels-harness.ts';
import { eventually, startHarness, type Harness } from './harness.ts';

/**
 * The circuit breaker of one channel and model, on one gateway: it opens after two failures, stops
 * the sick channel's traffic, lets one probe through after its cool-down, opens again
 * when the probe fails and closes when a probe succeeds.
 */

const COOLDOWN_MS = 3_000;
let h: Harness;
let sick: FakeUpstream;
let sickId: string;
let key: string;

beforeAll(async () => {
  const { sql } = await testDatabase();
  const metrics = createMetrics({ sql, log: createLogger('error', () => {}) });
  h = await startHarness(
    {
      TOLLGATE_BREAKER_FAILURES: '2',
      TOLLGATE_BREAKER_WINDOW_SECONDS: '30',
      TOLLGATE_BREAKER_COOLDOWN_SECONDS: String(COOLDOWN_MS / 1000),
    },
    { observe: (ctx, status) => metrics.observe(ctx, status), mount: (app, services) => metrics.mount(app, services) },
  );
  sick = await startFakeUpstream({ defaults: { status: 503 } });
  sickId = await addChannel(h.sql, [h.gateway], 'sick', { baseUrl: sick.baseUrl, priority: 10 });
  key = (await h.customer('5.00')).key;
});
afterAll(async () => {
  await h.close();
  await sick.close();
});

const posts = () => sick.requests.filter((r) => r.method === 'POST').length;

async function ask(model = 'fake/gpt-small'): Promise<string[]> {
  const raw = await h
    .client(key)
    .chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  const row = await requestRow(h.sql, raw.response.headers.get('x-request-id') ?? '');
  return (row?.attempts ?? []).map((a) => `${a.channel}:${a.outcome}`);
}

const metricsText = async () => (await fetch(`${h.gateway.url}/metrics`)).text();
const OPEN_LINE = 'tollgate_channel_breaker{channel="sick",model="fake/gpt-small",state="open"} 1';

test('the breaker opens after two failures and the sick channel gets no more traffic for that model', async () => {
  expect(await ask()).toEqual(['sick:failed', 'default:answered']);
  expect(await ask()).toEqual(['sick:failed', 'default:answered']);
  expect(await ask()).toEqual(['default:answered']);
  expect(posts()).toBe(2);
});

test('with every channel of the model open, the request is refused at once with 503 and a Retry-After', async () => {
  await changeChannel(h.sql, [h.gateway], 'default', { state: 'disabled' });
  try {
    const failure = await h
      .client(key)
      .chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'hi' }] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect(Number((failure as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after'))).toBeGreaterThan(0);
    expect(posts()).toBe(2);
  } finally {
    await changeChannel(h.sql, [h.gateway], 'default', { state: 'active' });
  }
});

test('an open breaker shows in /metrics and in channel_breakers, and is per model', async () => {
  expect(await metricsText()).toContain(OPEN_LINE);
  const [row] = await eventually(
    () => h.sql<{ state: string }[]>`select state from channel_breakers where channel_id = ${sickId}::uuid`,
    (rows) => rows[0]?.state === 'open',
  );
  expect(row?.state).toBe('open');
  expect(await ask('fake/gpt-large')).toEqual(['sick:failed', 'default:answered']);
});

test('after the cool-down one probe goes through; its failure opens the breaker again', async () => {
  await Bun.sleep(COOLDOWN_MS + 100);
  expect(await ask()).toEqual(['sick:failed', 'default:answered']);
  expect(await ask()).toEqual(['default:answered']);
  expect(await metricsText()).toContain(OPEN_LINE);
});

test('a probe that succeeds closes the breaker, and traffic returns to the channel', async () => {
  sick.setDefaults({ status: null });
  await Bun.sleep(COOLDOWN_MS + 100);
  expect(await ask()).toEqual(['sick:answered']);
  expect(await ask()).toEqual(['sick:answered']);
  expect(await metricsText()).not.toContain('state="open"');
  const [row] = await eventually(
    () => h.sql<{ state: string }[]>`
      select state from channel_breakers where channel_id = ${sickId}::uuid and model = 'fake/gpt-small'`,
    (rows) => rows[0]?.state === 'closed',
  );
  expect(row?.state).toBe('closed');
  expect(await metricsText()).toContain('tollgate_upstream_attempts_total{channel="sick",outcome="answered"} 2');
});
