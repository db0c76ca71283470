import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { Gateway } from '../../gateway/server.ts';
import { BREAKER_SYNC_INTERVAL_MS } from '../../upstream/breaker-redis.ts';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream.ts';
import { addChannel, requestRow } from '../gateway/channels-harness.ts';
import { testRedisUrl } from '../helpers.ts';
import { startReplicas, type Replicas } from './replicas.ts';

/**
 * Two gateway replicas sharing their channel breakers through Redis: failures seen by either one
 * count toward the same breaker, a breaker one opens stops the other's traffic too, and one
 * probe's success closes it for both.
 */

const COOLDOWN_MS = 3_000;
const SYNCED_MS = BREAKER_SYNC_INTERVAL_MS * 2 + 100;
let r: Replicas;
let sick: FakeUpstream;
let key: string;

beforeAll(async () => {
  r = await startReplicas(2, testRedisUrl(), {
    sharedBreakers: true,
    env: { TOLLGATE_BREAKER_FAILURES: '2', TOLLGATE_BREAKER_COOLDOWN_SECONDS: String(COOLDOWN_MS / 1000) },
  });
  sick = await startFakeUpstream({ defaults: { status: 503 } });
  await addChannel(r.sql, r.gateways, 'sick', { baseUrl: sick.baseUrl, priority: 10 });
  key = (await r.customer('5.00')).key;
});
afterAll(async () => {
  await r.close();
  await sick.close();
});

async function ask(gateway: Gateway | undefined, model = 'fake/gpt-small'): Promise<string[]> {
  if (!gateway) throw new Error('no such replica');
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await response.arrayBuffer();
  expect(response.status).toBe(200);
  const row = await requestRow(r.sql, response.headers.get('x-request-id') ?? '');
  return (row?.attempts ?? []).map((a) => `${a.channel}:${a.outcome}`);
}

const posts = () => sick.requests.filter((request) => request.method === 'POST').length;

test('a breaker one replica opens stops the other replica sending to the sick channel', async () => {
  const [a, b] = r.gateways;
  expect(await ask(a)).toEqual(['sick:failed', 'default:answered']);
  expect(await ask(a)).toEqual(['sick:failed', 'default:answered']);
  await Bun.sleep(SYNCED_MS);
  expect(await ask(b)).toEqual(['default:answered']);
  expect(posts()).toBe(2);
});

test('failures seen by different replicas count toward the same breaker', async () => {
  const [a, b] = r.gateways;
  expect(await ask(a, 'fake/gpt-large')).toEqual(['sick:failed', 'default:answered']);
  expect(await ask(b, 'fake/gpt-large')).toEqual(['sick:failed', 'default:answered']);
  await Bun.sleep(SYNCED_MS);
  expect(await ask(a, 'fake/gpt-large')).toEqual(['default:answered']);
  expect(await ask(b, 'fake/gpt-large')).toEqual(['default:answered']);
});

test("after the cool-down one replica's successful probe closes the breaker for both", async () => {
  const [a, b] = r.gateways;
  sick.setDefaults({ status: null });
  await Bun.sleep(COOLDOWN_MS);
  expect(await ask(b)).toEqual(['sick:answered']);
  await Bun.sleep(SYNCED_MS);
  expect(await ask(a)).toEqual(['sick:answered']);
});
