/**
 * The fake upstream's catalog and its exact money arithmetic. Prices are decimal strings in USD per
 * token, as OpenRouter publishes them; costs are computed in integer atto-dollars (10^-18 USD) so a
 * printed cost is exactly prompt × price + completion × price, never a float approximation.
 */

export type FakeModel = {
  id: string;
  name: string;
  promptUsdPerToken: string;
  completionUsdPerToken: string;
  contextLength: number;
  maxCompletionTokens: number;
  /** More of OpenRouter's `pricing` components, billed as ./billing.ts says (USD per token or per result). */
  extraPricing?: { web_search?: string; input_cache_write?: string };
  /**
   * Providers listed at `/models/{id}/endpoints`, each at a multiple of the listed price. The fake
   * serves from the dearest one the request's `provider.only` allows, to test holds sized for it.
   */
  providers?: { name: string; tag: string; multiple: number }[];
  /** OpenRouter's `architecture` lists; a model without them leaves the portal to infer them. */
  modalities?: { input: string[]; output: string[] };
};

export const FAKE_MODELS: FakeModel[] = [
  {
    id: 'fake/gpt-small',
    name: 'Fake: GPT Small',
    promptUsdPerToken: '0.000001',
    completionUsdPerToken: '0.000002',
    contextLength: 16_384,
    maxCompletionTokens: 4_096,
  },
  {
    id: 'fake/gpt-large',
    name: 'Fake: GPT Large',
    promptUsdPerToken: '0.000003',
    completionUsdPerToken: '0.000015',
    contextLength: 200_000,
    maxCompletionTokens: 8_192,
    modalities: { input: ['text', 'image', 'file'], output: ['text'] },
  },
  {
    id: 'fake/embed',
    name: 'Fake: Embed',
    promptUsdPerToken: '0.0000001',
    completionUsdPerToken: '0',
    contextLength: 8_192,
    maxCompletionTokens: 0,
  },
  // A price that is not a whole number of nano-dollars per token, to exercise rounding downstream.
  {
    id: 'fake/cheap',
    name: 'Fake: Cheap',
    promptUsdPerToken: '0.0000000375',
    completionUsdPerToken: '0.00000015',
    contextLength: 32_768,
    maxCompletionTokens: 2_048,
  },
  // Web search billed per result, prompt-cache writes dearer than input tokens (issue 17).
  {
    id: 'fake/search-cache',
    name: 'Fake: Search Cache',
    promptUsdPerToken: '0.000001',
    completionUsdPerToken: '0.000002',
    contextLength: 16_384,
    maxCompletionTokens: 4_096,
    extraPricing: { web_search: '0.01', input_cache_write: '0.00000375' },
  },
  // One model id, two providers: the dearer one costs three times the listed price.
  {
    id: 'fake/two-providers',
    name: 'Fake: Two Providers',
    promptUsdPerToken: '0.000001',
    completionUsdPerToken: '0.000002',
    contextLength: 16_384,
    maxCompletionTokens: 4_096,
    providers: [
      { name: 'Cheap', tag: 'cheap', multiple: 1 },
      { name: 'Dear', tag: 'dear', multiple: 3 },
    ],
  },
];

/** A catalog model with its prices pre-parsed, so the hot path only multiplies. */
export type PricedModel = FakeModel & {
  promptAtto: bigint;
  completionAtto: bigint;
  webSearchAtto: bigint;
  cacheWriteAtto: bigint;
  idJson: string;
};

const ATTO_DIGITS = 18;
const ATTO_PER_USD = 10n ** BigInt(ATTO_DIGITS);

export function usdToAtto(usd: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,18}))?$/.exec(usd);
  if (!match)
    throw new Error(`fake upstream: price "${usd}" is not a plain decimal with at most ${ATTO_DIGITS} decimals`);
  return BigInt(match[1] ?? '0') * ATTO_PER_USD + BigInt((match[2] ?? '').padEnd(ATTO_DIGITS, '0'));
}

/** Prints atto-dollars as the shortest exact decimal: 3000000000000n → "0.000003". */
export function formatUsd(atto: bigint): string {
  const whole = atto / ATTO_PER_USD;
  const fraction = (atto % ATTO_PER_USD).toString().padStart(ATTO_DIGITS, '0').replace(/0+$/, '');
  return fraction === '' ? whole.toString() : `${whole}.${fraction}`;
}

const PRICED = new Map<string, PricedModel>(
  FAKE_MODELS.map((m) => [
    m.id,
    {
      ...m,
      promptAtto: usdToAtto(m.promptUsdPerToken),
      completionAtto: usdToAtto(m.completionUsdPerToken),
      webSearchAtto: usdToAtto(m.extraPricing?.web_search ?? '0'),
      cacheWriteAtto: usdToAtto(m.extraPricing?.input_cache_write ?? '0'),
      idJson: JSON.stringify(m.id),
    },
  ]),
);

/** `:online` asks for the web plugin on the model it suffixes. */
export function findModel(id: unknown): PricedModel | undefined {
  return typeof id === 'string' ? PRICED.get(id.replace(/:online$/, '')) : undefined;
}

/** GET /models never changes, so its body is serialized once. */
export const MODELS_JSON = JSON.stringify({
  data: FAKE_MODELS.map((m) => ({
    id: m.id,
    name: m.name,
    created: 1_700_000_000,
    description: `${m.name}, a deterministic model served by Tollgate's fake upstream for tests.`,
    context_length: m.contextLength,
    pricing: {
      prompt: m.promptUsdPerToken,
      completion: m.completionUsdPerToken,
      request: '0',
      image: '0',
      ...m.extraPricing,
    },
    top_provider: {
      context_length: m.contextLength,
      max_completion_tokens: m.maxCompletionTokens,
      is_moderated: false,
    },
    ...(m.modalities
      ? { architecture: { input_modalities: m.modalities.input, output_modalities: m.modalities.output } }
      : {}),
  })),
});

/** GET /models/{id}/endpoints, OpenRouter's shape; a model without providers has no such page. */
export function endpointsJson(id: string): string | undefined {
  const model = PRICED.get(id);
  if (!model?.providers) return undefined;
  const endpoints = model.providers.map((p) => ({
    name: `${p.name} | ${model.id}`,
    provider_name: p.name,
    tag: p.tag,
    context_length: model.contextLength,
    max_completion_tokens: model.maxCompletionTokens,
    pricing: {
      prompt: formatUsd(model.promptAtto * BigInt(p.multiple)),
      completion: formatUsd(model.completionAtto * BigInt(p.multiple)),
      request: '0',
      image: '0',
    },
  }));
  return JSON.stringify({ data: { id: model.id, name: model.name, endpoints } });
}
