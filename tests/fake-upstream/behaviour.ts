/**
 * What the fake upstream does with a request. Defaults are set on the server; a request overrides
 * them with directives written anywhere in its text, e.g. `[[fake:chunks=3,delay_ms=20,no_cost]]`.
 * Several directives merge left to right. An unknown key or a bad value answers 400, so a typo in
 * a test fails loudly instead of silently testing the default.
 */

export type Behaviour = {
  /** `chunks=N`: completion tokens to produce (before `max_tokens` trims them). */
  chunks: number;
  /** `delay_ms=N`: wait before each streamed token, and once before a non-stream answer. */
  delayMs: number;
  /** `status=NNN`: answer this HTTP status with an OpenRouter-style error before any output. */
  status: number | null;
  /** `hang`: never answer; the request ends only when the client goes away. */
  hang: boolean;
  /** `cut_after=N`: stream N tokens, then drop the connection (no finish, no usage, no [DONE]). */
  cutAfter: number | null;
  /** `stream_error_after=N`: stream N tokens, then an SSE error event, then end. */
  streamErrorAfter: number | null;
  /** `no_usage`: never report usage. */
  noUsage: boolean;
  /** `no_cost`: report token usage without `usage.cost`. */
  noCost: boolean;
  /** `tool_call`: if the request has `tools`, call the first one with `{"city":"Paris"}`. */
  toolCall: boolean;
  /**
   * `reasoning`: a chat answer's first token is reasoning, as OpenRouter streams it (`reasoning` and
   * `reasoning_details` with a signature), the rest its content; the counts are the same.
   */
  reasoning: boolean;
  /** `pause_ms=N`: one silence of N ms after the first streamed token (a non-stream answer waits it too). */
  pauseMs: number;
  /** `linger_ms=N`: a stream stays open (and in flight) N ms after its [DONE] before its body ends. */
  lingerMs: number;
  /** `cost_factor=N`: report N times the real cost (an upstream billing above the catalog). */
  costFactor: number;
  /** `cost_usd=N`: report a cost of N dollars, whatever the tokens. */
  costUsd: number | null;
  /** `negative_usage`: report a negative completion token count. */
  negativeUsage: boolean;
};

export const DEFAULT_BEHAVIOUR: Behaviour = {
  chunks: 5,
  delayMs: 0,
  status: null,
  hang: false,
  cutAfter: null,
  streamErrorAfter: null,
  noUsage: false,
  noCost: false,
  toolCall: false,
  reasoning: false,
  pauseMs: 0,
  lingerMs: 0,
  costFactor: 1,
  costUsd: null,
  negativeUsage: false,
};

type NumberKey =
  | 'chunks'
  | 'delayMs'
  | 'status'
  | 'cutAfter'
  | 'streamErrorAfter'
  | 'pauseMs'
  | 'lingerMs'
  | 'costFactor'
  | 'costUsd';
type FlagKey = 'hang' | 'noUsage' | 'noCost' | 'toolCall' | 'reasoning' | 'negativeUsage';

const NUMBER_KEYS: Record<string, NumberKey> = {
  chunks: 'chunks',
  delay_ms: 'delayMs',
  status: 'status',
  cut_after: 'cutAfter',
  stream_error_after: 'streamErrorAfter',
  pause_ms: 'pauseMs',
  linger_ms: 'lingerMs',
  cost_factor: 'costFactor',
  cost_usd: 'costUsd',
};
const FLAG_KEYS: Record<string, FlagKey> = {
  hang: 'hang',
  no_usage: 'noUsage',
  no_cost: 'noCost',
  tool_call: 'toolCall',
  reasoning: 'reasoning',
  negative_usage: 'negativeUsage',
};

/** Bounds every directive value so a typo cannot make a test wait for hours or allocate millions of chunks. */
const MAX_DIRECTIVE_VALUE = 1_000_000;
const DIRECTIVE = /\[\[fake:([^\]]*)\]\]/g;

function applySetting(behaviour: Behaviour, setting: string): string | null {
  const [key = '', value] = setting.trim().split('=', 2);
  const flag = FLAG_KEYS[key];
  if (flag !== undefined && value === undefined) {
    behaviour[flag] = true;
    return null;
  }
  const numberKey = NUMBER_KEYS[key];
  if (numberKey === undefined || value === undefined) return `unknown fake directive "${setting}"`;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > MAX_DIRECTIVE_VALUE)
    return `fake directive ${key} needs an integer from 0 to ${MAX_DIRECTIVE_VALUE}`;
  if (numberKey === 'status' && (n < 400 || n > 599))
    return 'fake directive status needs an HTTP error status (400-599)';
  behaviour[numberKey] = n;
  return null;
}

/**
 * Reads the directives out of the raw request body. Scanning the raw JSON text finds them in any
 * message, prompt or input without walking the parsed body, and costs one `includes` when absent.
 * Returns the behaviour, or an error message for a bad directive.
 */
export function behaviourFor(rawBody: string, defaults: Behaviour): Behaviour | string {
  if (!rawBody.includes('[[fake:')) return defaults;
  const behaviour = { ...defaults };
  for (const match of rawBody.matchAll(DIRECTIVE)) {
    for (const setting of (match[1] ?? '').split(',')) {
      if (setting.trim() === '') continue;
      const error = applySetting(behaviour, setting);
      if (error !== null) return error;
    }
  }
  return behaviour;
}
