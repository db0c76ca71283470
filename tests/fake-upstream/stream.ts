import type { Answer } from './answer.ts';
import type { Behaviour } from './behaviour.ts';
import { envelope, type Format } from './formats.ts';
import { usageJson } from './billing.ts';
import { setProduced, type Flight, type GenerationRecord } from './state.ts';

/**
 * A stream is decided in full before it starts (a script), then played: all at once when nothing
 * has to wait, or event by event with the behaviour's delays, pause and cut.
 */
type Script = {
  /** The processing comment and the opening chunks. */
  head: string;
  /** One SSE event per completion token. */
  tokens: string[];
  /** Finish chunk, usage and [DONE]; or the error event; empty for a cut. */
  tail: string;
  cut: boolean;
  /** The finish reason the generation record ends with. */
  finishReason: string | null;
};

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };
// OpenRouter sends this comment while it waits for the provider; clients must skip it.
const PROCESSING_COMMENT = ': OPENROUTER PROCESSING\n\n';
const DONE = 'data: [DONE]\n\n';
/**
 * Bun puts written bytes on the socket on a later event-loop turn, and a client that sees the reset
 * first may drop what it had not read yet; waiting this long before a cut makes the tokens that were
 * sent before it arrive, so tests can count them exactly.
 */
const CUT_GRACE_MS = 25;
// Mirrors the secret-bearing metadata OpenRouter errors can carry, so gateway tests can prove it is never forwarded.
const STREAM_ERROR =
  '"error":{"code":502,"message":"Fake upstream: provider disconnected mid-stream","metadata":{"provider_key":"sk-upstream-SECRET"}},';

function tailOf(answer: Answer, format: Format, base: string, produced: number): string {
  const finish = `${base}"choices":[${format.finishChoice(answer.finishReason)}]}\n\n`;
  if (answer.usage === 'none' || !answer.usageInStream) return finish + DONE;
  const usage = usageJson(answer.bill, answer.promptTokens, produced, answer.usage === 'cost');
  return `${finish}${base}"choices":[],"usage":${usage}}\n\n${DONE}`;
}

function buildScript(answer: Answer, format: Format, behaviour: Behaviour): Script {
  const base = `data: ${envelope(answer, format.streamObject)}`;
  const { cutAfter, streamErrorAfter } = behaviour;
  // When both interruptions are asked for, the earlier one happens; on a tie, the cut.
  const cut = cutAfter !== null && (streamErrorAfter === null || cutAfter <= streamErrorAfter);
  const failed = !cut && streamErrorAfter !== null;
  const stopAfter = Math.min(answer.pieces.length, cutAfter ?? Infinity, streamErrorAfter ?? Infinity);
  const head =
    PROCESSING_COMMENT +
    format
      .openingChoices(answer)
      .map((choice) => `${base}"choices":[${choice}]}\n\n`)
      .join('');
  const tokens = answer.pieces
    .slice(0, stopAfter)
    .map((text, index) => `${base}"choices":[${format.pieceChoice(answer, text, index)}]}\n\n`);
  if (cut) return { head, tokens, tail: '', cut, finishReason: null };
  if (failed)
    return {
      head,
      tokens,
      tail: `${base}${STREAM_ERROR}"choices":[${format.finishChoice('error')}]}\n\n`,
      cut,
      finishReason: 'error',
    };
  return { head, tokens, tail: tailOf(answer, format, base, tokens.length), cut, finishReason: answer.finishReason };
}

type Playback = { script: Script; answer: Answer; behaviour: Behaviour; generation: GenerationRecord; flight: Flight };

async function send(controller: ReadableStreamDirectController, text: string): Promise<void> {
  controller.write(text);
  // Flushing makes each event its own write, as a real upstream's tokens are.
  await controller.flush();
}

/** Plays a script with its timings; ends when done, when cut, or silently once the client has gone. */
async function play(
  controller: ReadableStreamDirectController,
  { script, answer, behaviour, generation, flight }: Playback,
): Promise<void> {
  await send(controller, script.head);
  for (const [index, token] of script.tokens.entries()) {
    if (behaviour.delayMs > 0) await Bun.sleep(behaviour.delayMs);
    if (!flight.open) return controller.close();
    await send(controller, token);
    setProduced(generation, answer.bill, index + 1);
    if (index === 0 && behaviour.pauseMs > 0) await Bun.sleep(behaviour.pauseMs);
  }
  if (script.cut) await Bun.sleep(CUT_GRACE_MS);
  if (!flight.open) return controller.close();
  generation.finishReason = script.finishReason;
  if (script.cut) {
    flight.end();
    return controller.close(new Error('fake upstream cut the connection'));
  }
  controller.write(script.tail);
  if (behaviour.lingerMs > 0) {
    // Still in flight: a client that leaves now counts as `aborted`.
    await controller.flush();
    await Bun.sleep(behaviour.lingerMs);
  }
  flight.end();
  controller.close();
}

export function streamResponse(
  answer: Answer,
  format: Format,
  behaviour: Behaviour,
  generation: GenerationRecord,
  flight: Flight,
): Response {
  const script = buildScript(answer, format, behaviour);
  if (!script.cut && behaviour.delayMs === 0 && behaviour.pauseMs === 0 && behaviour.lingerMs === 0) {
    setProduced(generation, answer.bill, script.tokens.length);
    generation.finishReason = script.finishReason;
    return new Response(script.head + script.tokens.join('') + script.tail, { headers: SSE_HEADERS });
  }
  flight.held = true;
  flight.watch(() => {
    generation.cancelled = true;
  });
  const playback: Playback = { script, answer, behaviour, generation, flight };
  const source: Bun.DirectUnderlyingSource<Uint8Array> = {
    type: 'direct',
    pull: (controller) => play(controller, playback),
  };
  // Bun's direct streams are missing from the DOM overloads TypeScript picks here.
  return new Response(new ReadableStream(source as unknown as UnderlyingDefaultSource<Uint8Array>), {
    headers: SSE_HEADERS,
  });
}
