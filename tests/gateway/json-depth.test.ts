import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../protocols/json-depth.ts';
import { startHarness, type Harness } from './harness.ts';

/** Bodies nested deeper than any walk of them can afford are refused before parsing (issue 18, item 7). */

const nested = (depth: number, open = '[', close = ']', inner = '') => open.repeat(depth) + inner + close.repeat(depth);
const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('the depth scan', () => {
  test('counts arrays and objects, and nothing inside strings', () => {
    const at = (text: string, max: number) => exceedsJsonDepth(text, max);
    expect(at(nested(3), 3)).toBe(false);
    expect(at(nested(4), 3)).toBe(true);
    expect(at(deepObject(4), 3)).toBe(true);
    expect(at(`["${'['.repeat(50)}"]`, 1)).toBe(false);
    expect(at(`["\\"${'{'.repeat(50)}"]`, 1)).toBe(false);
    expect(at(`["\\\\",[[]]]`, 2)).toBe(true);
    expect(at(`[{"k\\\\\\"[[":"é[[["}]`, 2)).toBe(false);
  });

  test('agrees with the depth of the parsed value, for any JSON text', () => {
    const depthOf = (value: unknown): number =>
      typeof value === 'object' && value !== null
        ? 1 + Math.max(0, ...Object.values(value as Record<string, unknown>).map(depthOf))
        : 0;
    // Strings made of the characters the scan must see past: quotes, backslashes and brackets.
    const tricky = fc.string({ unit: fc.constantFrom('"', '\\', '[', ']', '{', '}', 'é', 'a') });
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), tricky, (value, text) => {
        const json = JSON.stringify([value, text, { [text]: value }]);
        const depth = depthOf(JSON.parse(json));
        expect(exceedsJsonDepth(json, depth)).toBe(false);
        expect(exceedsJsonDepth(json, depth - 1)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('deeply nested /v1 bodies', () => {
  let h: Harness;
  let key: string;
  beforeAll(async () => {
    h = await startHarness();
    ({ key } = await h.customer('5'));
  });
  afterAll(async () => {
    await h.close();
  });

  const post = async (body: string) => {
    const response = await fetch(`${h.gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body,
    });
    return { status: response.status, body: (await response.json()) as { error?: { type: string; code: string } } };
  };
  const chat = (extra: string) =>
    `{"model":"fake/gpt-small","messages":[{"role":"user","content":"hi"}]${extra ? `,${extra}` : ''}}`;

  const cases: [string, () => string][] = [
    [
      'content parts nested 100k deep',
      () => `{"model":"fake/gpt-small","messages":[{"role":"user","content":[${nested(100_000)}]}]}`,
    ],
    ['tools nested 100k deep', () => chat(`"tools":[{"type":"function","function":${deepObject(100_000)}}]`)],
    ['an unrelated field nested 1M deep', () => chat(`"x_unrelated":${nested(1_000_000)}`)],
  ];
  test.each(cases)('%s is 400 invalid_request_error, and nothing reaches the upstream', async (_name, body) => {
    const before = h.upstream.requests.length;
    const answer = await post(body());
    expect(answer.status).toBe(400);
    expect(answer.body.error?.type).toBe('invalid_request_error');
    expect(h.upstream.requests.length).toBe(before);
  });

  test(`a body nested ${MAX_JSON_DEPTH} levels deep is served, one level more is refused`, async () => {
    // The body object is the first level.
    const answer = await post(chat(`"x_unrelated":${nested(MAX_JSON_DEPTH - 1)}`));
    expect(answer.status).toBe(200);
    expect((await post(chat(`"x_unrelated":${nested(MAX_JSON_DEPTH)}`))).status).toBe(400);
  });
});
