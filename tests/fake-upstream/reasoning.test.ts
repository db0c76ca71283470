import { afterAll, beforeAll, expect, test } from 'bun:test';
import { FAKE_MODELS, startFakeUpstream, type FakeUpstream } from '../fake-upstream.ts';

let fake: FakeUpstream;
beforeAll(async () => {
  fake = await startFakeUpstream();
});
afterAll(() => fake.close());

const chat = (stream: boolean) =>
  fetch(`${fake.baseUrl}/chat/completions`, {
    method: 'POST',
    body: JSON.stringify({
      model: FAKE_MODELS[0]?.id,
      stream,
      messages: [{ role: 'user', content: '[[fake:reasoning,chunks=3]]' }],
    }),
  });

test('the reasoning directive makes the first token reasoning, signed, in a stream and in a whole answer', async () => {
  const events = (await (await chat(true)).text()).split('\n\n').filter((event) => event.startsWith('data: {'));
  const deltas = events.map((event) => JSON.parse(event.slice(6)).choices[0]?.delta);
  expect(deltas[1]).toEqual({
    reasoning: 'tok0 ',
    reasoning_details: [
      { type: 'reasoning.text', text: 'tok0 ', signature: 'fake-signature', format: 'anthropic-claude-v1', index: 0 },
    ],
  });
  expect(deltas.slice(2, 4)).toEqual([{ content: 'tok1 ' }, { content: 'tok2 ' }]);
  const message = (await (await chat(false)).json()).choices[0].message;
  expect([message.reasoning, message.content, message.reasoning_details[0].signature]).toEqual([
    'tok0 ',
    'tok1 tok2 ',
    'fake-signature',
  ]);
});
