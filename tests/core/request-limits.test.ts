import { describe, expect, test } from 'bun:test';
import { basicPrice } from '../../core/cost.ts';
import type { BilledRequest } from '../../core/billed-request.ts';
import { parseBilledRequest } from '../../core/openai-request.ts';
import { readProviderPreferences, servingPrice, type ProviderPreferences } from '../../core/providers.ts';
import { applyHeldLimits, catalogModelId, DEFAULT_WEB_RESULTS } from '../../core/request-limits.ts';

/** What a request body says about the most it can cost, and the limits written back after its hold. */

function billed(body: Record<string, unknown>): BilledRequest {
  const result = parseBilledRequest('chat', { model: 'a/b', messages: [{ role: 'user', content: 'hi' }], ...body });
  if ('message' in result) throw new Error(result.message);
  return result;
}

describe('a request body', () => {
  test('with max_tokens and max_completion_tokens that disagree is held for the smaller, and both are sent as held', () => {
    const request = billed({ max_completion_tokens: 1, max_tokens: 100_000 });
    expect(request.requestedMaxTokens).toBe(1);
    applyHeldLimits(request.body, { output: 1, reasoning: 0 });
    expect(request.body).toMatchObject({ max_completion_tokens: 1, max_tokens: 1 });
  });

  test('without an output limit is sent max_tokens, the limit it was held for', () => {
    const request = billed({});
    applyHeldLimits(request.body, { output: 300, reasoning: 0 });
    expect(request.body.max_tokens).toBe(300);
  });

  test('carries a reasoning budget outside max_tokens, bounded, and sent as held or turned off', () => {
    expect(billed({ reasoning: { max_tokens: 2_000 } }).hold.reasoningMaxTokens).toBe(2_000);
    expect(
      parseBilledRequest('chat', { model: 'a', messages: [{ role: 'user' }], reasoning: { max_tokens: 0 } }),
    ).toEqual({
      message: expect.stringContaining('reasoning.max_tokens'),
      param: 'reasoning.max_tokens',
    });
    const shrunk = billed({ max_tokens: 100, reasoning: { max_tokens: 2_000, exclude: true } });
    applyHeldLimits(shrunk.body, { output: 10, reasoning: 40 });
    expect(shrunk.body).toMatchObject({ max_tokens: 10, reasoning: { max_tokens: 40, exclude: true } });
    applyHeldLimits(shrunk.body, { output: 1, reasoning: 0 });
    expect(shrunk.body.reasoning).toEqual({ exclude: true, enabled: false });
  });

  test('names its web search results: the plugin max_results, else five for the plugin, :online or web_search_options', () => {
    expect(billed({ plugins: [{ id: 'web', max_results: 8 }] }).hold.webSearchResults).toBe(8);
    expect(billed({ plugins: [{ id: 'web' }] }).hold.webSearchResults).toBe(DEFAULT_WEB_RESULTS);
    expect(billed({ model: 'a/b:online' }).hold.webSearchResults).toBe(DEFAULT_WEB_RESULTS);
    expect(billed({ web_search_options: {} }).hold.webSearchResults).toBe(DEFAULT_WEB_RESULTS);
    expect(billed({}).hold.webSearchResults).toBe(0);
    expect(
      parseBilledRequest('chat', { model: 'a', messages: [{ role: 'u' }], plugins: [{ id: 'web', max_results: 1e6 }] }),
    ).toMatchObject({ param: 'plugins' });
    expect(catalogModelId('a/b:online')).toBe('a/b');
  });

  test('marks cache breakpoints on a message or on one of its parts', () => {
    const part = { role: 'user', content: [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral' } }] };
    expect(billed({ messages: [part] }).hold.cacheBreakpoints).toBe(true);
    expect(billed({}).hold.cacheBreakpoints).toBe(false);
  });
});

describe('provider preferences', () => {
  const listed = basicPrice(10n, 20n, 0n, 0n);
  const endpoints = [
    { provider: 'Cheap Co', tag: 'cheap-co/fp8', price: basicPrice(10n, 20n, 0n, 0n) },
    { provider: 'Dear', tag: null, price: basicPrice(30n, 60n, 5n, 0n) },
  ];
  const serving = (value: unknown) =>
    servingPrice(listed, endpoints, readProviderPreferences(value) as ProviderPreferences);

  test('size a hold for the dearest provider the request may reach', () => {
    expect(serving(undefined)).toMatchObject({
      promptNanosPerMtok: 30n,
      completionNanosPerMtok: 60n,
      requestNanos: 5n,
    });
    expect(serving({ only: ['cheap-co'] })).toMatchObject({ promptNanosPerMtok: 10n, requestNanos: 0n });
    expect(serving({ ignore: ['dear'] })).toMatchObject({ promptNanosPerMtok: 10n });
    expect(serving({ order: ['cheap-co/fp8'], allow_fallbacks: false })).toMatchObject({ promptNanosPerMtok: 10n });
  });

  test('that would leave no provider, or that allow fallbacks, count every provider', () => {
    expect(serving({ only: ['nobody'] })).toMatchObject({ promptNanosPerMtok: 30n });
    expect(serving({ order: ['cheap-co'] })).toMatchObject({ promptNanosPerMtok: 30n });
    expect(readProviderPreferences({ only: 'dear' })).toContain('provider.only');
  });
});
