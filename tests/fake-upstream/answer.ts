import type { Behaviour } from './behaviour.ts';
import { billFor, type Bill } from './billing.ts';
import { findModel, type PricedModel } from './models.ts';
import { isRecord, type FakeState } from './state.ts';
import { fakePromptTokens } from './tokens.ts';

/** Everything about one completion that the formats need, decided before any byte is sent. */
export type Answer = {
  id: string;
  created: number;
  model: PricedModel;
  bill: Bill;
  promptTokens: number;
  /** The text of each completion token: `tok0 `, `tok1 `, … or fragments of the tool-call arguments. */
  pieces: string[];
  finishReason: 'stop' | 'length' | 'tool_calls';
  tool: { callId: string; name: string } | null;
  /** The first piece is signed reasoning (the `reasoning` directive). */
  signedReasoning: boolean;
  /** OpenRouter's reasoning text (`delta.reasoning`), sent before the answer when asked with an effort; null without it. */
  reasoning: string | null;
  /** Whether usage is reported, and with `cost`. */
  usage: 'none' | 'tokens' | 'cost';
  /** A stream reports usage only when asked, as OpenRouter does. */
  usageInStream: boolean;
};

export type CompletionKind = 'chat' | 'text';

/**
 * The reasoning a chat answer shows when asked with an effort (`reasoning: {effort}`, not
 * `exclude`d), as OpenRouter returns it. It is not counted in the usage, so it never changes a
 * charge a test predicts.
 */
const FAKE_REASONING = 'Thinking it over.';

function showsReasoning(body: Record<string, unknown>): boolean {
  const reasoning = body.reasoning;
  return isRecord(reasoning) && typeof reasoning.effort === 'string' && reasoning.exclude !== true;
}

/** The arguments of the one tool call the fake makes; 16 bytes, sent as four 4-byte tokens. */
const TOOL_ARGUMENTS = '{"city":"Paris"}';
const TOOL_PIECES = TOOL_ARGUMENTS.match(/.{1,4}/g) ?? [];

// Token texts are built once and shared: the hot path only slices this array.
const tokenTexts: string[] = [];

function tokenPieces(count: number): string[] {
  for (let i = tokenTexts.length; i < count; i++) tokenTexts.push(`tok${i} `);
  return tokenTexts.slice(0, count);
}

function isTokenLimit(value: unknown): value is number | undefined {
  return value === undefined || value === null || (Number.isInteger(value) && (value as number) >= 0);
}

/** The smaller of `max_tokens` and `max_completion_tokens`, or a 400 message. */
function tokenLimit(body: Record<string, unknown>): number | string {
  const { max_tokens: maxTokens, max_completion_tokens: maxCompletionTokens } = body;
  if (!isTokenLimit(maxTokens) || !isTokenLimit(maxCompletionTokens))
    return 'max_tokens must be a non-negative integer';
  return Math.min(maxTokens ?? Infinity, maxCompletionTokens ?? Infinity);
}

function firstToolName(tools: unknown): string | null {
  const tool: unknown = Array.isArray(tools) ? tools[0] : undefined;
  const fn = isRecord(tool) ? tool.function : undefined;
  return isRecord(fn) && typeof fn.name === 'string' ? fn.name : null;
}

function checkShape(body: Record<string, unknown>, kind: CompletionKind): string | null {
  if (kind === 'chat')
    return Array.isArray(body.messages) && body.messages.length > 0 ? null : 'messages must be a non-empty array';
  const { prompt } = body;
  return typeof prompt === 'string' || Array.isArray(prompt) ? null : 'prompt must be a string or an array';
}

/** Decides the answer to a chat or legacy completion request, or returns a 400 message. */
export function planAnswer(
  state: FakeState,
  body: Record<string, unknown>,
  behaviour: Behaviour,
  kind: CompletionKind,
): Answer | string {
  const model = findModel(body.model);
  if (model === undefined) return `${String(body.model)} is not a valid model ID`;
  const shapeError = checkShape(body, kind);
  if (shapeError !== null) return shapeError;
  const limit = tokenLimit(body);
  if (typeof limit === 'string') return limit;
  const toolName = kind === 'chat' && behaviour.toolCall ? firstToolName(body.tools) : null;
  const wanted = toolName === null ? tokenPieces(behaviour.chunks) : TOOL_PIECES;
  const pieces = wanted.length > limit ? wanted.slice(0, limit) : wanted;
  const { stream_options: options, usage: accounting } = body;
  return {
    id: state.nextId('gen-'),
    created: Math.floor(Date.now() / 1000),
    model,
    bill: billFor(model, body, behaviour),
    promptTokens: fakePromptTokens(body),
    pieces,
    finishReason: pieces.length < wanted.length ? 'length' : toolName === null ? 'stop' : 'tool_calls',
    tool: toolName === null ? null : { callId: state.nextId('call_'), name: toolName },
    signedReasoning: kind === 'chat' && toolName === null && behaviour.reasoning,
    reasoning: kind === 'chat' && showsReasoning(body) ? FAKE_REASONING : null,
    usage: behaviour.noUsage ? 'none' : behaviour.noCost ? 'tokens' : 'cost',
    usageInStream:
      (isRecord(options) && options.include_usage === true) || (isRecord(accounting) && accounting.include === true),
  };
}
