import { ceilingPrice, type ModelPrice } from './cost.ts';

/**
 * The providers that serve one model id at their own prices (OpenRouter's
 * `/models/{author}/{slug}/endpoints`), and the request's `provider` preferences that narrow
 * which of them may serve it. A hold is sized for the dearest provider the request may reach.
 */

export type ProviderEndpoint = {
  /** The provider's display name, e.g. "DeepInfra". */
  provider: string;
  /** OpenRouter's endpoint tag, e.g. "deepinfra/fp8"; null when it lists none. */
  tag: string | null;
  price: ModelPrice;
};

/** OpenRouter's `provider` object, as far as it limits who may serve: only, ignore, order without fallbacks. */
export type ProviderPreferences = { only: string[] | null; ignore: string[]; order: string[] | null };

export const ANY_PROVIDER: ProviderPreferences = { only: null, ignore: [], order: null };

/** How many provider names a preference list may carry; OpenRouter lists a few dozen providers. */
export const MAX_PROVIDER_NAMES = 64;

/** "Google AI Studio" and "google-ai-studio" name the same provider. */
const slug = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9/]+/g, '-')
    .replace(/^-|-$/g, '');

function names(endpoint: ProviderEndpoint): string[] {
  const tag = endpoint.tag === null ? [] : [slug(endpoint.tag), slug(endpoint.tag.split('/')[0] ?? '')];
  return [slug(endpoint.provider), ...tag];
}

const matchesAny = (endpoint: ProviderEndpoint, wanted: readonly string[]) =>
  names(endpoint).some((name) => wanted.some((w) => slug(w) === name));

function stringList(value: unknown, param: string): string[] | null | string {
  if (value === undefined || value === null) return null;
  if (
    !Array.isArray(value) ||
    value.length > MAX_PROVIDER_NAMES ||
    !value.every((v) => typeof v === 'string' && v.length > 0)
  )
    return `provider.${param} must be an array of at most ${MAX_PROVIDER_NAMES} provider names`;
  return value as string[];
}

/** Reads `provider`; an error message names the bad field. Unknown fields pass through to the upstream. */
export function readProviderPreferences(value: unknown): ProviderPreferences | string {
  if (value === undefined || value === null) return ANY_PROVIDER;
  if (typeof value !== 'object' || Array.isArray(value)) return 'provider must be an object';
  const raw = value as Record<string, unknown>;
  const only = stringList(raw.only, 'only');
  const ignore = stringList(raw.ignore, 'ignore');
  const order = stringList(raw.order, 'order');
  for (const list of [only, ignore, order]) if (typeof list === 'string') return list;
  return {
    only: only as string[] | null,
    ignore: (ignore as string[] | null) ?? [],
    // With fallbacks (the default) any other provider may still serve after the ordered ones.
    order: raw.allow_fallbacks === false ? (order as string[] | null) : null,
  };
}

/**
 * The dearest price, component by component, among the listed price and the providers the
 * preferences allow. With no provider list, or preferences no provider meets, every provider
 * counts: a hold must never be sized below whoever may serve.
 */
export function servingPrice(
  listed: ModelPrice,
  endpoints: readonly ProviderEndpoint[],
  preferences: ProviderPreferences,
): ModelPrice {
  const allowed = endpoints.filter(
    (e) =>
      (preferences.only === null || matchesAny(e, preferences.only)) &&
      !matchesAny(e, preferences.ignore) &&
      (preferences.order === null || matchesAny(e, preferences.order)),
  );
  const serving = allowed.length > 0 ? allowed : endpoints;
  return ceilingPrice([listed, ...serving.map((e) => e.price)]);
}
