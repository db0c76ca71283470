import { planAnswer, type Answer, type CompletionKind } from './answer.ts';
import type { Behaviour } from './behaviour.ts';
import { CHAT_FORMAT, completionBody, TEXT_FORMAT } from './formats.ts';
import { usageJson } from './billing.ts';
import {
  errorResponse,
  jsonResponse,
  setProduced,
  type FakeState,
  type Flight,
  type GenerationRecord,
} from './state.ts';
import { streamResponse } from './stream.ts';

/**
 * Waits out `delay_ms` + `pause_ms` before a non-stream answer. A client that leaves meanwhile
 * gets nothing, and its generation is recorded as cancelled with no completion tokens.
 */
export async function answerLater(
  flight: Flight,
  waitMs: number,
  answer: () => Response,
  onAbandon: () => void,
): Promise<Response> {
  flight.watch(onAbandon);
  await Bun.sleep(waitMs);
  // Nobody reads this response: the client has gone.
  return flight.open ? answer() : new Response(null, { status: 499 });
}

function finish(answer: Answer, generation: GenerationRecord, body: string): Response {
  setProduced(generation, answer.bill, answer.pieces.length);
  generation.finishReason = answer.finishReason;
  return jsonResponse(body);
}

/** POST /chat/completions and POST /completions. */
export function completionResponse(
  state: FakeState,
  flight: Flight,
  body: Record<string, unknown>,
  behaviour: Behaviour,
  kind: CompletionKind,
): Response | Promise<Response> {
  const answer = planAnswer(state, body, behaviour, kind);
  if (typeof answer === 'string') return errorResponse(400, answer);
  const format = kind === 'chat' ? CHAT_FORMAT : TEXT_FORMAT;
  const streamed = body.stream === true;
  const generation = state.openGeneration(answer.id, answer.model, answer.bill, answer.promptTokens, streamed);
  if (streamed) return streamResponse(answer, format, behaviour, generation, flight);
  const usage =
    answer.usage === 'none'
      ? null
      : usageJson(answer.bill, answer.promptTokens, answer.pieces.length, answer.usage === 'cost');
  const text = completionBody(answer, format, usage);
  const waitMs = behaviour.delayMs + behaviour.pauseMs;
  if (waitMs === 0) return finish(answer, generation, text);
  return answerLater(
    flight,
    waitMs,
    () => finish(answer, generation, text),
    () => {
      generation.cancelled = true;
    },
  );
}
