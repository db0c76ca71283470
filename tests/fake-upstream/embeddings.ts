import type { Behaviour } from './behaviour.ts';
import { answerLater } from './completion.ts';
import { billFor, costUsd } from './billing.ts';
import { findModel } from './models.ts';
import { errorResponse, jsonResponse, type FakeState, type Flight } from './state.ts';
import { fakePromptTokens } from './tokens.ts';

const DIMENSIONS = 8;

/**
 * A deterministic vector per input: an FNV-1a hash of the text drives eight values k/256 in
 * [-1, 1). Multiples of 1/256 are exact in float32, so the base64 and float encodings agree.
 */
function embed(text: string): number[] {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  const vector: number[] = [];
  for (let i = 0; i < DIMENSIONS; i++) {
    hash = Math.imul(hash ^ (i + 1), 0x01000193);
    vector.push(((hash >>> 0) % 512) / 256 - 1);
  }
  return vector;
}

/** One text per input: a string, a token-id array, or an array of either. Null when malformed. */
function inputsOf(input: unknown): string[] | null {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return null;
  if (input.every((item) => typeof item === 'number')) return [JSON.stringify(input)];
  const texts: string[] = [];
  for (const item of input) {
    if (typeof item === 'string') texts.push(item);
    else if (Array.isArray(item) && item.every((n) => typeof n === 'number')) texts.push(JSON.stringify(item));
    else return null;
  }
  return texts;
}

function encode(vector: number[], base64: boolean): number[] | string {
  return base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
}

/** POST /embeddings: OpenAI's list shape, OpenRouter's usage with an exact cost. */
export function embeddingsResponse(
  state: FakeState,
  flight: Flight,
  body: Record<string, unknown>,
  behaviour: Behaviour,
): Response | Promise<Response> {
  const model = findModel(body.model);
  if (model === undefined) return errorResponse(400, `${String(body.model)} is not a valid model ID`);
  const inputs = inputsOf(body.input);
  if (inputs === null) return errorResponse(400, 'input must be a string, an array of strings, or token-id arrays');
  const base64 = body.encoding_format === 'base64';
  const data = inputs.map((text, index) => ({ object: 'embedding', index, embedding: encode(embed(text), base64) }));
  const promptTokens = fakePromptTokens(body);
  const id = state.nextId('gen-');
  const bill = billFor(model, body, behaviour);
  const generation = state.openGeneration(id, model, bill, promptTokens, false);
  const cost = behaviour.noCost ? '' : `,"cost":${costUsd(bill, promptTokens, 0)}`;
  const usage = behaviour.noUsage
    ? ''
    : `,"usage":{"prompt_tokens":${promptTokens},"total_tokens":${promptTokens}${cost}}`;
  const text = `{"id":"${id}","object":"list","model":${model.idJson},"data":${JSON.stringify(data)}${usage}}`;
  const deliver = () => {
    generation.finishReason = 'stop';
    return jsonResponse(text);
  };
  const waitMs = behaviour.delayMs + behaviour.pauseMs;
  if (waitMs === 0) return deliver();
  return answerLater(flight, waitMs, deliver, () => {
    generation.cancelled = true;
  });
}
