import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream.ts';
import { addChannel, changeChannel, requestRow } from './channels-harness.ts';
import { startHarness, type Harness } from './harness.ts';

/**
 * What makes a channel skip a request without trying it: its concurrency cap, its rate cap, a
 * protocol it does not speak, a key variable this replica does not have, a draining state while an
 * active channel can serve. The default channel (the harness's fake upstream) takes the rest.
 */

let h: Harness;
let capped: FakeUpstream;
let key: string;

beforeAll(async () => {
  h = await startHarness();
  capped = await startFakeUpstream();
  await changeChannel(h.sql, [h.gateway], 'default', { priority: -10 });
  key = (await h.customer('5.00')).key;
});
afterAll(async () => {
  await h.close();
  await capped.close();
});

async function ask(content = 'hi', model = 'fake/gpt-small'): Promise<string[]> {
  const raw = await h
    .client(key)
    .chat.completions.create({ model, messages: [{ role: 'user', content }] })
    .withResponse();
  const row = await requestRow(h.sql, raw.response.headers.get('x-request-id') ?? '');
  return (row?.attempts ?? []).map((a) => `${a.channel}:${a.outcome}`);
}

test('a channel at its concurrency cap is skipped while its request runs, and used again after', async () => {
  await addChannel(h.sql, [h.gateway], 'one-at-a-time', { baseUrl: capped.baseUrl, maxConcurrency: 1 });
  const long = ask('slow one [[fake:pause_ms=600]]');
  await Bun.sleep(150);
  expect(await ask()).toEqual(['one-at-a-time:capped', 'default:answered']);
  expect(await long).toEqual(['one-at-a-time:answered']);
  expect(await ask()).toEqual(['one-at-a-time:answered']);
  await changeChannel(h.sql, [h.gateway], 'one-at-a-time', { state: 'disabled' });
});

test('a channel at its requests-per-minute cap is skipped', async () => {
  await addChannel(h.sql, [h.gateway], 'one-a-minute', { baseUrl: capped.baseUrl, maxRequestsPerMinute: 1 });
  expect(await ask()).toEqual(['one-a-minute:answered']);
  expect(await ask()).toEqual(['one-a-minute:capped', 'default:answered']);
  await changeChannel(h.sql, [h.gateway], 'one-a-minute', { state: 'disabled' });
});

test('a request goes only to channels that speak its protocol', async () => {
  await addChannel(h.sql, [h.gateway], 'chat-only', { baseUrl: capped.baseUrl, protocols: ['chat'] });
  expect(await ask()).toEqual(['chat-only:answered']);
  const raw = await h.client(key).embeddings.create({ model: 'fake/embed', input: 'x' }).withResponse();
  const row = await requestRow(h.sql, raw.response.headers.get('x-request-id') ?? '');
  expect(row?.attempts?.map((a) => a.channel)).toEqual(['default']);
  await changeChannel(h.sql, [h.gateway], 'chat-only', { state: 'disabled' });
});

test('a channel whose key variable is unset on this replica is skipped, and said so once in the log', async () => {
  await addChannel(h.sql, [h.gateway], 'keyless', {
    baseUrl: capped.baseUrl,
    keyVariable: 'TG_TEST_NEVER_SET_KEY',
    priority: 50,
  });
  expect(await ask()).toEqual(['default:answered']);
  await h.gateway.services.channels.reload();
  const warnings = h.logs.filter(
    (line) => line.includes('channels unusable') && line.includes('TG_TEST_NEVER_SET_KEY'),
  );
  expect(warnings).toHaveLength(1);
  await changeChannel(h.sql, [h.gateway], 'keyless', { state: 'disabled' });
});

test('a draining channel is tried only after every active one', async () => {
  const sick = await startFakeUpstream({ defaults: { status: 502 } });
  try {
    await addChannel(h.sql, [h.gateway], 'drained', { baseUrl: capped.baseUrl, priority: 100, state: 'draining' });
    expect(await ask()).toEqual(['default:answered']);
    await addChannel(h.sql, [h.gateway], 'sick', { baseUrl: sick.baseUrl, priority: 0 });
    await changeChannel(h.sql, [h.gateway], 'default', { state: 'disabled' });
    expect(await ask()).toEqual(['sick:failed', 'drained:answered']);
  } finally {
    await sick.close();
  }
});
