import { usdToFemtos } from './money.ts';

/**
 * An upstream's usage report (a response's `usage`, a generation record) read with bounds. A
 * count or cost beyond them is garbage, not a bill: it would overflow the ledger's 64-bit amounts
 * and the settlement could never be written. Such a report is refused whole, and the request is
 * settled as if no usage had come (docs/architecture.md: generation record, else the estimate).
 */
export const MAX_REPORTED_TOKENS = 1_000_000_000;
export const MAX_REPORTED_COST_USD = 1_000_000;

/** A request's usage as the ledger settles it, and where it came from. */
export type MeteredUsage = {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens (counted in promptTokens) read from or written to the prompt cache, when reported apart. */
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  /** The upstream's reported cost in femto-dollars, when it reported one. */
  upstreamCostFemtos: bigint | null;
  source: 'upstream' | 'generation' | 'estimate';
};

export type ReportedUsage = {
  promptTokens: number;
  completionTokens: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  upstreamCostFemtos: bigint | null;
};

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

/** The first count among the candidates (a native count before a normalised one); none is 0. */
function countOf(candidates: readonly unknown[]): number {
  return candidates.find(isCount) ?? 0;
}

/** A number no usage can be: negative, fractional or not finite. */
const isGarbage = (value: unknown): boolean => typeof value === 'number' && !isCount(value);

/**
 * `undefined` when the report is implausible (a negative or fractional count, a negative cost, or
 * beyond the bounds above); a missing count is 0 and a missing cost is null.
 */
export function readReportedUsage(
  prompt: readonly unknown[],
  completion: readonly unknown[],
  cost: unknown,
): ReportedUsage | undefined {
  if ([...prompt, ...completion].some(isGarbage)) return undefined;
  const promptTokens = countOf(prompt);
  const completionTokens = countOf(completion);
  if (promptTokens > MAX_REPORTED_TOKENS || completionTokens > MAX_REPORTED_TOKENS) return undefined;
  if (typeof cost === 'number' && (!Number.isFinite(cost) || cost < 0 || cost > MAX_REPORTED_COST_USD))
    return undefined;
  return {
    promptTokens,
    completionTokens,
    upstreamCostFemtos: typeof cost === 'number' ? (usdToFemtos(cost) ?? null) : null,
  };
}
