import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startHarness, type Harness } from './harness.ts';

/** A stream that goes quiet gets SSE comments at the configured interval; clients see the same text. */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ TOLLGATE_STREAM_HEARTBEAT_SECONDS: '1' });
});
afterAll(() => h.close());

const PAUSED = '[[fake:chunks=3,pause_ms=2600]] tell me a story';

test('a silent stream gets a keep-alive comment each second of silence, and the SDK still reads the whole answer', async () => {
  const { key } = await h.customer('1');
  const response = await fetch(`${h.gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fake/gpt-small', messages: [{ role: 'user', content: PAUSED }], stream: true }),
  });
  expect(response.status).toBe(200);
  const text = await response.text();
  const events = text.split('\n\n').filter((event) => event !== '');
  const firstData = events.findIndex((event) => event.startsWith('data: {'));
  const heartbeats = events.map((event, i) => (event === ': keep-alive' ? i : -1)).filter((i) => i >= 0);
  // 2.6 s of silence with a 1 s interval: two comments, both after the first token and before the rest.
  expect(heartbeats.length).toBe(2);
  expect(heartbeats.every((i) => i > firstData)).toBe(true);
  expect(events.at(-1)).toBe('data: [DONE]');
  const relayed = events
    .filter((event) => event.startsWith('data: {'))
    .map(
      (event) =>
        (JSON.parse(event.slice(6)) as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta?.content ??
        '',
    )
    .join('');
  expect(relayed.length).toBeGreaterThan(0);

  const client = h.client(key);
  const stream = await client.chat.completions.create({
    model: 'fake/gpt-small',
    messages: [{ role: 'user', content: PAUSED }],
    stream: true,
  });
  let content = '';
  for await (const chunk of stream) content += chunk.choices[0]?.delta?.content ?? '';
  expect(content).toBe(relayed);
});
