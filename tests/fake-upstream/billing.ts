import type { Behaviour } from './behaviour.ts';
import { formatUsd, type PricedModel } from './models.ts';

/**
 * What the fake bills one request, the way OpenRouter does: prompt tokens at the input price, or
 * at the cache-write price when the request marks cache breakpoints (`cache_control`); completion
 * tokens at the completion price; each web search result (the `web` plugin's `max_results`, five
 * by default, or a `:online` model) at `web_search`; all at the price of the provider that served
 * it (the dearest one `provider.only` allows). Directives then bend the report: `cost_factor=N`
 * reports N times the bill, `cost_usd=N` reports N dollars, `negative_usage` negative tokens.
 */

export type Bill = {
  promptAtto: bigint;
  completionAtto: bigint;
  /** Per request: the web search results. */
  fixedAtto: bigint;
  factor: bigint;
  usd: string | null;
  negative: boolean;
};

const DEFAULT_WEB_RESULTS = 5;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function webResults(body: Record<string, unknown>): number {
  const plugins = Array.isArray(body.plugins) ? body.plugins : [];
  const web = plugins.find((p) => isRecord(p) && p.id === 'web');
  if (isRecord(web) && typeof web.max_results === 'number') return web.max_results;
  return web || (typeof body.model === 'string' && body.model.endsWith(':online')) ? DEFAULT_WEB_RESULTS : 0;
}

function marksCache(body: Record<string, unknown>): boolean {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  return messages.some(
    (m) =>
      isRecord(m) &&
      (m.cache_control !== undefined ||
        (Array.isArray(m.content) && m.content.some((part) => isRecord(part) && part.cache_control !== undefined))),
  );
}

/** The price multiple of the provider that serves: the dearest of those `provider.only` allows. */
function providerMultiple(model: PricedModel, body: Record<string, unknown>): bigint {
  const providers = model.providers ?? [];
  const only = isRecord(body.provider) && Array.isArray(body.provider.only) ? body.provider.only : null;
  const allowed = providers.filter(
    (p) => only === null || only.some((o) => o === p.tag || String(o).toLowerCase() === p.name.toLowerCase()),
  );
  return BigInt(Math.max(1, ...allowed.map((p) => p.multiple)));
}

export function billFor(model: PricedModel, body: Record<string, unknown>, behaviour: Behaviour): Bill {
  const multiple = providerMultiple(model, body);
  const cacheWrite = marksCache(body) && model.cacheWriteAtto > 0n;
  return {
    promptAtto: (cacheWrite ? model.cacheWriteAtto : model.promptAtto) * multiple,
    completionAtto: model.completionAtto * multiple,
    fixedAtto: BigInt(webResults(body)) * model.webSearchAtto,
    factor: BigInt(behaviour.costFactor),
    usd: behaviour.costUsd === null ? null : String(behaviour.costUsd),
    negative: behaviour.negativeUsage,
  };
}

export function costUsd(bill: Bill, promptTokens: number, completionTokens: number): string {
  if (bill.usd !== null) return bill.usd;
  const atto = BigInt(promptTokens) * bill.promptAtto + BigInt(completionTokens) * bill.completionAtto + bill.fixedAtto;
  return formatUsd(atto * bill.factor);
}

/**
 * OpenRouter's usage object. `cost` is spliced in as raw JSON text because JSON.stringify of a
 * float would print 3 × 0.000001 as 0.0000030000000000000005.
 */
export function usageJson(bill: Bill, promptTokens: number, completionTokens: number, withCost: boolean): string {
  const completion = bill.negative ? -completionTokens - 1 : completionTokens;
  const tokens = `{"prompt_tokens":${promptTokens},"completion_tokens":${completion},"total_tokens":${promptTokens + completion}`;
  return withCost ? `${tokens},"cost":${costUsd(bill, promptTokens, completionTokens)}}` : `${tokens}}`;
}
