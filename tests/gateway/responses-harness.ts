import { usdPerTokenToNanosPerMtok } from '../../core/money.ts';
import { priceNanos } from '../../core/pricing.ts';
import { walletBalance } from '../../db/queries/transfers.ts';
import { changeChannel } from './channels-harness.ts';
import { eventually, startHarness, type Harness } from './harness.ts';

/**
 * The Responses tests' common ground (tests/gateway/responses*.test.ts), run in both modes: native
 * (the default channel speaks Responses, as OpenRouter does) and translated (the channel speaks
 * only Chat Completions).
 */

export const MODES = ['native', 'translated'] as const;
export type Mode = (typeof MODES)[number];

export async function startResponsesHarness(mode: Mode): Promise<Harness> {
  const h = await startHarness({}, { listen: false });
  if (mode === 'translated')
    await changeChannel(h.sql, [h.gateway], 'default', { protocols: ['chat', 'completions', 'embeddings'] });
  return h;
}

/** The path the fake upstream sees for a /v1/responses request in this mode. */
export const upstreamPathOf = (mode: Mode) => (mode === 'native' ? '/api/v1/responses' : '/api/v1/chat/completions');

const SMALL = {
  prompt: usdPerTokenToNanosPerMtok('0.000001') ?? 0n,
  completion: usdPerTokenToNanosPerMtok('0.000002') ?? 0n,
};
/** The customer's price for a fake/gpt-small request at the root's default 20% markup. */
export const smallCharge = (promptTokens: number, completionTokens: number) =>
  priceNanos(BigInt(promptTokens) * SMALL.prompt + BigInt(completionTokens) * SMALL.completion, [2000]);

export type Row = {
  outcome: string;
  charge_nanos: bigint;
  prompt_tokens: number;
  completion_tokens: number;
  estimated: boolean;
  protocol: string | null;
  route: string;
};

export const rowsOf = (h: Harness, accountId: string, count = 1) =>
  eventually(
    () => h.sql<Row[]>`select * from requests where account_id = ${accountId}::uuid order by created_at`,
    (r) => r.length >= count,
  );

export const settled = (h: Harness, walletId: bigint) =>
  eventually(
    () => walletBalance(h.sql, walletId),
    (b) => b?.heldNanos === 0n,
  );

export const weather = {
  type: 'function' as const,
  name: 'weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
};
