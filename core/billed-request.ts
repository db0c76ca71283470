import type { HoldFlags } from './request-limits.ts';

/**
 * The request the plugins bill, whatever wire protocol it arrived in: each protocol module
 * (protocols/protocol.ts) parses and validates its own body into this shape, and `balance`,
 * `model-access`, `proxy`, `meter` and `debit` read only this.
 */

/**
 * The wire protocols a route may speak and a channel may serve (channels store the same names in
 * their `protocols` list; upstream/channel-input.ts).
 */
export type ProtocolName = 'chat' | 'completions' | 'embeddings' | 'messages' | 'responses';

export type RequestProblem = { message: string; param: string | null };

export type BilledRequest = {
  /** The protocol the client spoke (the route's). */
  protocol: ProtocolName;
  /** The parsed body, passed on to the upstream; `balance` writes the held limits into it. */
  body: Record<string, unknown>;
  model: string;
  /** The models the request may be served by (OpenRouter's fallback `models`); the first is `model`. */
  candidateModels: string[];
  stream: boolean;
  /** The output limit the client asked for (the smaller of two when a protocol has two), or null. */
  requestedMaxTokens: number | null;
  /** Completions produced per request (Chat Completions' `n`); 1 elsewhere. */
  choices: number;
  /** Chat Completions' `stream_options.include_usage`: the client wants the usage chunk. */
  wantsUsageInStream: boolean;
  hold: HoldFlags;
};

/**
 * Tokens; far above any model's output window, and low enough that its hold stays inside
 * PostgreSQL's bigint: at $1,000 per million tokens, 16 choices and a 100× markup it is 1.6e17 of
 * 9.2e18 nano-dollars. Above that the hold failed as an outage (503).
 */
export const MAX_OUTPUT_TOKENS = 100_000_000;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A positive integer no larger than `max`, null when absent, or what is wrong with it. */
export function positiveInteger(
  body: Record<string, unknown>,
  param: string,
  max: number,
): number | null | RequestProblem {
  const value = body[param];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    return { message: `${param} must be a positive integer`, param };
  if (value > max) return { message: `${param} must be at most ${max}`, param };
  return value;
}
