import type { ProviderEndpoint } from '../core/providers.ts';
import { priceFromUpstream, type UpstreamPricing } from './pricing.ts';

/**
 * Each model's providers and their prices, from OpenRouter's `GET /models/{author}/{slug}/endpoints`,
 * fetched with the catalog: one model id may be served by providers at different prices, and a
 * hold must cover the dearest one a request may be routed to (core/providers.ts).
 */

/** Lookups in flight at once, so a catalog of hundreds of models does not flood the upstream. */
export const ENDPOINT_FETCHES_IN_FLIGHT = 4;
const ENDPOINT_TIMEOUT_MS = 10_000;
/** Providers kept per model; OpenRouter lists a handful. */
const MAX_ENDPOINTS_PER_MODEL = 64;

type UpstreamEndpoint = { provider_name?: unknown; name?: unknown; tag?: unknown; pricing?: UpstreamPricing };

/**
 * The providers of one `/endpoints` answer, or undefined when it is unusable. An endpoint whose
 * prices cannot be read makes the whole list unusable: dropping it could hide the dearest one.
 */
export function endpointsFromUpstream(payload: unknown): ProviderEndpoint[] | undefined {
  const data = (payload as { data?: { endpoints?: unknown } } | null)?.data;
  if (!Array.isArray(data?.endpoints) || data.endpoints.length > MAX_ENDPOINTS_PER_MODEL) return undefined;
  const endpoints: ProviderEndpoint[] = [];
  for (const entry of data.endpoints as UpstreamEndpoint[]) {
    const price = priceFromUpstream(entry.pricing);
    const provider = typeof entry.provider_name === 'string' ? entry.provider_name : entry.name;
    if (!price || typeof provider !== 'string') return undefined;
    endpoints.push({ provider, tag: typeof entry.tag === 'string' ? entry.tag : null, price });
  }
  return endpoints;
}

async function fetchEndpoints(
  baseUrl: string,
  headers: Record<string, string>,
  modelId: string,
): Promise<ProviderEndpoint[] | undefined> {
  try {
    const path = modelId.split('/').map(encodeURIComponent).join('/');
    const response = await fetch(`${baseUrl}/models/${path}/endpoints`, {
      headers,
      signal: AbortSignal.timeout(ENDPOINT_TIMEOUT_MS),
    });
    return response.ok ? endpointsFromUpstream(await response.json()) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The provider lists of the models that answered; a model whose lookup failed keeps what the
 * catalog stored before (an upstream without the endpoint, a timeout), so a hiccup never hides a provider.
 */
export async function fetchEndpointLists(
  baseUrl: string,
  headers: Record<string, string>,
  modelIds: readonly string[],
): Promise<{ modelId: string; endpoints: ProviderEndpoint[] }[]> {
  const lists: { modelId: string; endpoints: ProviderEndpoint[] }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < modelIds.length) {
      const modelId = modelIds[next++] as string;
      const endpoints = await fetchEndpoints(baseUrl, headers, modelId);
      if (endpoints) lists.push({ modelId, endpoints });
    }
  };
  await Promise.all(Array.from({ length: Math.min(ENDPOINT_FETCHES_IN_FLIGHT, modelIds.length) }, worker));
  return lists;
}
