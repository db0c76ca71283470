import { readReportedUsage, type MeteredUsage } from '../core/reported-usage.ts';

/**
 * The upstream's own record of a generation (OpenRouter's `GET /generation?id=`): the truth for a
 * stream the client abandoned or the upstream cut before its usage chunk. Records appear with a
 * short delay, so the lookup retries a bounded number of times.
 */

export const GENERATION_LOOKUP_DELAYS_MS = [200, 800, 2_000] as const;
const GENERATION_LOOKUP_TIMEOUT_MS = 5_000;

type GenerationPayload = {
  data?: {
    total_cost?: unknown;
    tokens_prompt?: unknown;
    tokens_completion?: unknown;
    native_tokens_prompt?: unknown;
    native_tokens_completion?: unknown;
  };
};

/** `delaysMs`: the wait before each attempt; a reconciliation of old generations need not wait. */
export async function fetchGenerationUsage(
  baseUrl: string,
  apiKey: string | undefined,
  generationId: string,
  delaysMs: readonly number[] = GENERATION_LOOKUP_DELAYS_MS,
): Promise<MeteredUsage | undefined> {
  const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  const url = `${baseUrl}/generation?id=${encodeURIComponent(generationId)}`;
  for (const delay of delaysMs) {
    await Bun.sleep(delay);
    try {
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(GENERATION_LOOKUP_TIMEOUT_MS) });
      if (response.status === 404) continue;
      if (!response.ok) return undefined;
      const data = ((await response.json()) as GenerationPayload).data;
      if (!data) return undefined;
      const reported = readReportedUsage(
        [data.native_tokens_prompt, data.tokens_prompt],
        [data.native_tokens_completion, data.tokens_completion],
        data.total_cost,
      );
      return reported && { ...reported, source: 'generation' };
    } catch {
      return undefined;
    }
  }
  return undefined;
}
