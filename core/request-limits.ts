import type { OutputBudget } from './hold-estimate.ts';
import { readProviderPreferences, type ProviderPreferences } from './providers.ts';

/**
 * What an OpenAI-style request body says that changes the most it can cost, beyond its prompt
 * and its output limit: a reasoning budget outside max_tokens (OpenRouter's `reasoning.max_tokens`),
 * web search (the `web` plugin and its `max_results`, a `:online` model, `web_search_options`),
 * prompt-cache breakpoints (`cache_control`), and the `provider` preferences that decide who may
 * serve it. Read once with the body; the hold estimate (core/hold-estimate.ts) takes them as plain
 * values, and the held limits are written back so the upstream receives exactly what was held for.
 */

export type HoldFlags = {
  reasoningMaxTokens: number | null;
  webSearchResults: number;
  cacheBreakpoints: boolean;
  providers: ProviderPreferences;
};

type Problem = { message: string; param: string | null };

/** OpenRouter's web plugin returns five results unless `max_results` says otherwise. */
export const DEFAULT_WEB_RESULTS = 5;
/** Results a request may ask the web plugin for; each is billed, so each is held for. */
export const MAX_WEB_RESULTS = 100;
/** The model suffix OpenRouter reads as "with the web plugin". */
export const ONLINE_SUFFIX = ':online';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function reasoningBudget(body: Record<string, unknown>, maxTokens: number): number | null | Problem {
  const reasoning = body.reasoning;
  if (!isRecord(reasoning) || reasoning.max_tokens === undefined || reasoning.max_tokens === null) return null;
  const value = reasoning.max_tokens;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > maxTokens)
    return { message: `reasoning.max_tokens must be an integer from 1 to ${maxTokens}`, param: 'reasoning.max_tokens' };
  return value;
}

function webSearchResults(body: Record<string, unknown>, models: readonly string[]): number | Problem {
  const plugins = Array.isArray(body.plugins) ? body.plugins : [];
  const web = plugins.find((p) => isRecord(p) && p.id === 'web') as Record<string, unknown> | undefined;
  if (web && web.max_results !== undefined && web.max_results !== null) {
    const n = web.max_results;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_WEB_RESULTS)
      return {
        message: `the web plugin's max_results must be an integer from 1 to ${MAX_WEB_RESULTS}`,
        param: 'plugins',
      };
    return n;
  }
  const online = models.some((m) => m.endsWith(ONLINE_SUFFIX));
  return web || online || body.web_search_options !== undefined ? DEFAULT_WEB_RESULTS : 0;
}

function marksCache(value: unknown): boolean {
  if (!isRecord(value)) return false;
  if (value.cache_control !== undefined) return true;
  return (
    Array.isArray(value.content) && value.content.some((part) => isRecord(part) && part.cache_control !== undefined)
  );
}

/** `models`: the request's model and its fallbacks. */
export function readHoldFlags(
  body: Record<string, unknown>,
  models: readonly string[],
  maxTokens: number,
): HoldFlags | Problem {
  const reasoningMaxTokens = reasoningBudget(body, maxTokens);
  if (isRecord(reasoningMaxTokens)) return reasoningMaxTokens;
  const results = webSearchResults(body, models);
  if (isRecord(results)) return results;
  const providers = readProviderPreferences(body.provider);
  if (typeof providers === 'string') return { message: providers, param: 'provider' };
  const messages = Array.isArray(body.messages) ? body.messages : [];
  return {
    reasoningMaxTokens,
    webSearchResults: results,
    cacheBreakpoints: body.cache_control !== undefined || messages.some(marksCache),
    providers,
  };
}

/**
 * Writes the held limits into the body: every output limit it carries (max_tokens and
 * max_completion_tokens alike, so two that disagree cannot let the upstream produce more than the
 * smaller), max_tokens when it carries none, and the reasoning budget when it has one.
 */
export function applyHeldLimits(body: Record<string, unknown>, held: OutputBudget): void {
  const hasCompletionLimit = body.max_completion_tokens !== undefined && body.max_completion_tokens !== null;
  if (hasCompletionLimit) body.max_completion_tokens = held.output;
  if (!hasCompletionLimit || (body.max_tokens !== undefined && body.max_tokens !== null)) body.max_tokens = held.output;
  const reasoning = body.reasoning;
  if (!isRecord(reasoning) || reasoning.max_tokens === undefined || reasoning.max_tokens === null) return;
  // A budget shrunk to nothing turns reasoning off: OpenRouter refuses a max_tokens of 0.
  if (held.reasoning > 0) body.reasoning = { ...reasoning, max_tokens: held.reasoning };
  else body.reasoning = { exclude: reasoning.exclude, enabled: false };
}

/** The catalog id of a model a request names: `:online` (and provider-sorting shortcuts) are routing, not models. */
export function catalogModelId(model: string): string {
  return model.replace(/:(online|nitro|floor)$/, '');
}
