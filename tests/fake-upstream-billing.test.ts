import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';

/** The fake upstream's billing (tests/fake-upstream/billing.ts): what issue 17's tests rely on. */

let fake: FakeUpstream;
beforeAll(async () => {
  fake = await startFakeUpstream();
});
afterAll(() => fake.close());

async function usageOf(body: Record<string, unknown>): Promise<{ completion_tokens: number; cost: number }> {
  const response = await fetch(`${fake.baseUrl}/chat/completions`, { method: 'POST', body: JSON.stringify(body) });
  return ((await response.json()) as { usage: { completion_tokens: number; cost: number } }).usage;
}

// 'abcd' is 4 prompt tokens; five completion tokens by default.
const chat = (model: string, content = 'abcd') => ({ model, messages: [{ role: 'user', content }] });

describe('the fake upstream bills', () => {
  test('web search results at web_search and cache-marked prompts at the cache-write price', async () => {
    expect((await usageOf(chat('fake/search-cache'))).cost).toBe(0.000014);
    expect((await usageOf({ ...chat('fake/search-cache'), plugins: [{ id: 'web', max_results: 2 }] })).cost).toBe(
      0.020014,
    );
    expect((await usageOf(chat('fake/search-cache:online'))).cost).toBe(0.050014);
    const cached = { role: 'user', content: [{ type: 'text', text: 'abcd', cache_control: { type: 'ephemeral' } }] };
    expect((await usageOf({ model: 'fake/search-cache', messages: [cached] })).cost).toBe(0.000025);
  });

  test('at the dearest provider the request allows, listed at /models/{id}/endpoints', async () => {
    const listing = (await (await fetch(`${fake.baseUrl}/models/fake/two-providers/endpoints`)).json()) as {
      data: { endpoints: { provider_name: string; pricing: { prompt: string } }[] };
    };
    expect(listing.data.endpoints.map((e) => [e.provider_name, e.pricing.prompt])).toEqual([
      ['Cheap', '0.000001'],
      ['Dear', '0.000003'],
    ]);
    expect((await fetch(`${fake.baseUrl}/models/fake/gpt-small/endpoints`)).status).toBe(404);
    expect((await usageOf(chat('fake/two-providers'))).cost).toBe(0.000042);
    expect((await usageOf({ ...chat('fake/two-providers'), provider: { only: ['cheap'] } })).cost).toBe(0.000014);
  });

  test('and reports what the directives say: a multiple of the cost, a fixed cost, negative tokens', async () => {
    expect((await usageOf(chat('fake/gpt-small', 'abcd [[fake:cost_factor=6]]'))).cost).toBe(0.00012);
    expect((await usageOf(chat('fake/gpt-small', '[[fake:cost_usd=999999]]'))).cost).toBe(999999);
    expect((await usageOf(chat('fake/gpt-small', '[[fake:negative_usage]]'))).completion_tokens).toBeLessThan(0);
  });
});
