import type { Behaviour } from './behaviour.ts';
import { billFor, costUsd, type Bill } from './billing.ts';
import { findModel, type PricedModel } from './models.ts';
import {
  errorResponse,
  isRecord,
  jsonResponse,
  setProduced,
  type FakeState,
  type Flight,
  type GenerationRecord,
} from './state.ts';

/**
 * The fake's OpenAI Responses endpoint (`POST /responses`), as OpenRouter serves it: a response
 * object, or its SSE events with `event:` lines and sequence numbers, usage in `response.completed`
 * with OpenRouter's `cost`, `is_byok` and `cost_details`. The answer is decided by the request:
 * - a function tool and the `tool_call` directive: one `function_call` with `{"city":"Paris"}`,
 *   its arguments streamed in four 4-byte pieces (4 output tokens), unless the input ends with a
 *   tool's output (the next turn of an agent loop, which gets text);
 * - `text.format` of type json_schema: the text `{"answer":"ok"}` in two pieces (2 tokens);
 * - otherwise `chunks` tokens of text, `tok0 tok1 …`;
 * - `reasoning.summary` set: first a reasoning item whose summary is `Thinking it over.` in two
 *   pieces (2 reasoning tokens, counted in the output tokens as Responses does).
 * `max_output_tokens` trims the pieces (the answer is then `incomplete`). Input tokens are
 * `fakeResponsesInputTokens`. The directives `status`, `hang` (handled before), `delay_ms`,
 * `cut_after` (pieces, then the connection drops), `stream_error_after` (pieces, then
 * `response.failed`), `no_usage`, `no_cost`, `cost_factor` and `cost_usd` work as for chat.
 */

const BYTES_PER_TOKEN = 4;
const ITEM_OVERHEAD_TOKENS = 3;
const TOOL_PIECES = ['{"ci', 'ty":', '"Par', 'is"}'];
const JSON_PIECES = ['{"answer":', '"ok"}'];
const REASONING_PIECES = ['Thinking ', 'it over.'];
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };
const CUT_GRACE_MS = 25;

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join('');
}

/** Input tokens: ceil(UTF-8 bytes / 4) + 3 for `instructions`, a string `input`, and each item's text. */
export function fakeResponsesInputTokens(body: Record<string, unknown>): number {
  const count = (text: string) => Math.ceil(Buffer.byteLength(text) / BYTES_PER_TOKEN) + ITEM_OVERHEAD_TOKENS;
  let tokens = typeof body.instructions === 'string' ? count(body.instructions) : 0;
  const input = body.input;
  if (typeof input === 'string') return tokens + count(input);
  for (const item of Array.isArray(input) ? input : []) {
    if (!isRecord(item)) continue;
    const text = typeof item.arguments === 'string' ? item.arguments : textOf(item.content ?? item.output);
    tokens += count(text);
  }
  return tokens;
}

type Piece = { kind: 'reasoning' | 'text' | 'arguments'; text: string };
type Plan = {
  id: string;
  created: number;
  model: PricedModel;
  bill: Bill;
  inputTokens: number;
  pieces: Piece[];
  /** Whether max_output_tokens cut the answer short. */
  trimmed: boolean;
  tool: { name: string; callId: string } | null;
};

/** A turn that hands back a tool's output gets text: the agent loop ends instead of calling again. */
function endsWithToolOutput(input: unknown): boolean {
  const last: unknown = Array.isArray(input) ? input.at(-1) : undefined;
  return isRecord(last) && last.type === 'function_call_output';
}

function firstFunctionTool(tools: unknown): string | null {
  const tool = Array.isArray(tools) ? tools.find((t) => isRecord(t) && t.type === 'function') : undefined;
  return isRecord(tool) && typeof tool.name === 'string' ? tool.name : null;
}

function plan(state: FakeState, body: Record<string, unknown>, behaviour: Behaviour): Plan | string {
  const model = findModel(body.model);
  if (model === undefined) return `${String(body.model)} is not a valid model ID`;
  if (typeof body.input !== 'string' && !Array.isArray(body.input)) return 'input must be a string or an array';
  const limit = typeof body.max_output_tokens === 'number' ? body.max_output_tokens : Infinity;
  const reasoning = isRecord(body.reasoning) && typeof body.reasoning.summary === 'string';
  const toolName = behaviour.toolCall && !endsWithToolOutput(body.input) ? firstFunctionTool(body.tools) : null;
  const format = isRecord(body.text) && isRecord(body.text.format) ? body.text.format.type : undefined;
  const content: Piece[] =
    toolName !== null
      ? TOOL_PIECES.map((text) => ({ kind: 'arguments', text }))
      : (format === 'json_schema' ? JSON_PIECES : Array.from({ length: behaviour.chunks }, (_, i) => `tok${i} `)).map(
          (text) => ({ kind: 'text', text }),
        );
  const wanted: Piece[] = [
    ...(reasoning ? REASONING_PIECES.map((text) => ({ kind: 'reasoning' as const, text })) : []),
    ...content,
  ];
  return {
    id: state.nextId('gen-'),
    created: Math.floor(Date.now() / 1000),
    model,
    bill: billFor(model, body, behaviour),
    inputTokens: fakeResponsesInputTokens(body),
    pieces: wanted.slice(0, limit),
    trimmed: wanted.length > limit,
    tool: toolName === null ? null : { name: toolName, callId: state.nextId('call_') },
  };
}

/** Usage as OpenRouter's Responses endpoint reports it; the cost is spliced in as exact text. */
function usageJson(p: Plan, produced: Piece[], behaviour: Behaviour): string {
  if (behaviour.noUsage) return 'null';
  const output = produced.length;
  const reasoning = produced.filter((piece) => piece.kind === 'reasoning').length;
  const tokens = `{"input_tokens":${p.inputTokens},"input_tokens_details":{"cached_tokens":0},"output_tokens":${output},"output_tokens_details":{"reasoning_tokens":${reasoning}},"total_tokens":${p.inputTokens + output}`;
  if (behaviour.noCost) return `${tokens}}`;
  const cost = costUsd(p.bill, p.inputTokens, output);
  return `${tokens},"cost":${cost},"is_byok":false,"cost_details":{"upstream_inference_cost":${cost}}}`;
}

const joined = (pieces: Piece[], kind: Piece['kind']) =>
  pieces
    .filter((piece) => piece.kind === kind)
    .map((piece) => piece.text)
    .join('');

/** The output items of the pieces produced: reasoning, then the message or the function call. */
function outputItems(p: Plan, produced: Piece[]): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [];
  if (produced.some((piece) => piece.kind === 'reasoning'))
    items.push({
      id: `rs_${p.id}`,
      type: 'reasoning',
      summary: [{ type: 'summary_text', text: joined(produced, 'reasoning') }],
    });
  if (p.tool)
    items.push({
      id: `fc_${p.id}`,
      type: 'function_call',
      status: 'completed',
      call_id: p.tool.callId,
      name: p.tool.name,
      arguments: joined(produced, 'arguments'),
    });
  else
    items.push({
      id: `msg_${p.id}`,
      type: 'message',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: joined(produced, 'text'), annotations: [], logprobs: [] }],
    });
  return items;
}

/** The response object as JSON text, with the usage spliced in (`status` decides the details). */
function responseJson(p: Plan, status: string, output: Record<string, unknown>[], usage: string): string {
  const object = {
    id: p.id,
    object: 'response',
    created_at: p.created,
    status,
    error:
      status === 'failed' ? { code: 'server_error', message: 'Fake upstream: provider disconnected mid-stream' } : null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    model: p.model.id,
    output,
  };
  return `${JSON.stringify(object).slice(0, -1)},"usage":${usage}}`;
}

/** The stream as a list of SSE events; `token` marks the ones that carry a produced piece. */
function streamEvents(p: Plan): { text: (sequence: number) => string; token: boolean }[] {
  const events: { type: string; fields: Record<string, unknown>; token: boolean }[] = [];
  const add = (type: string, fields: Record<string, unknown>, token = false) => events.push({ type, fields, token });
  const shell = JSON.parse(responseJson(p, 'in_progress', [], 'null')) as unknown;
  add('response.created', { response: shell });
  add('response.in_progress', { response: shell });
  const final = outputItems(p, p.pieces);
  for (const [index, item] of final.entries()) {
    const where = { item_id: item.id, output_index: index };
    const kind = item.type === 'reasoning' ? 'reasoning' : item.type === 'function_call' ? 'arguments' : 'text';
    const pieces = p.pieces.filter((piece) => piece.kind === kind);
    const empty =
      kind === 'reasoning'
        ? { ...item, summary: [] }
        : kind === 'arguments'
          ? { ...item, status: 'in_progress', arguments: '' }
          : { ...item, status: 'in_progress', content: [] };
    add('response.output_item.added', { output_index: index, item: empty });
    if (kind === 'reasoning') {
      const part = { ...where, summary_index: 0 };
      add('response.reasoning_summary_part.added', { ...part, part: { type: 'summary_text', text: '' } });
      for (const piece of pieces) add('response.reasoning_summary_text.delta', { ...part, delta: piece.text }, true);
      const text = joined(pieces, 'reasoning');
      add('response.reasoning_summary_text.done', { ...part, text });
      add('response.reasoning_summary_part.done', { ...part, part: { type: 'summary_text', text } });
    } else if (kind === 'arguments') {
      for (const piece of pieces) add('response.function_call_arguments.delta', { ...where, delta: piece.text }, true);
      add('response.function_call_arguments.done', { ...where, name: item.name, arguments: item.arguments });
    } else {
      const part = { ...where, content_index: 0 };
      add('response.content_part.added', { ...part, part: { type: 'output_text', text: '', annotations: [] } });
      for (const piece of pieces) add('response.output_text.delta', { ...part, delta: piece.text, logprobs: [] }, true);
      const text = joined(pieces, 'text');
      add('response.output_text.done', { ...part, text, logprobs: [] });
      add('response.content_part.done', {
        ...part,
        part: { type: 'output_text', text, annotations: [], logprobs: [] },
      });
    }
    add('response.output_item.done', { output_index: index, item });
  }
  return events.map(({ type, fields, token }) => ({
    token,
    text: (sequence) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence, ...fields })}\n\n`,
  }));
}

function endEvent(p: Plan, type: string, status: string, sequence: number, produced: Piece[], behaviour: Behaviour) {
  const response = responseJson(p, status, outputItems(p, produced), usageJson(p, produced, behaviour));
  return `event: ${type}\ndata: {"type":"${type}","sequence_number":${sequence},"response":${response}}\n\n`;
}

async function play(
  controller: ReadableStreamDirectController,
  p: Plan,
  behaviour: Behaviour,
  generation: GenerationRecord,
  flight: Flight,
): Promise<void> {
  const events = streamEvents(p);
  let produced = 0;
  let sequence = 0;
  for (const event of events) {
    if (event.token) {
      if (produced === behaviour.cutAfter) {
        await Bun.sleep(CUT_GRACE_MS);
        flight.end();
        return controller.close(new Error('fake upstream cut the connection'));
      }
      if (produced === behaviour.streamErrorAfter) break;
      if (behaviour.delayMs > 0) await Bun.sleep(behaviour.delayMs);
      if (!flight.open) return controller.close();
      produced += 1;
      setProduced(generation, p.bill, produced);
    }
    controller.write(event.text(sequence++));
    await controller.flush();
  }
  const done = p.pieces.slice(0, produced);
  const failed = behaviour.streamErrorAfter !== null && produced === behaviour.streamErrorAfter;
  const [type, status] = failed
    ? ['response.failed', 'failed']
    : p.trimmed
      ? ['response.incomplete', 'incomplete']
      : ['response.completed', 'completed'];
  generation.finishReason = failed ? 'error' : p.trimmed ? 'length' : p.tool ? 'tool_calls' : 'stop';
  controller.write(endEvent(p, type, status, sequence, done, behaviour));
  flight.end();
  controller.close();
}

function streamResponse(p: Plan, behaviour: Behaviour, generation: GenerationRecord, flight: Flight): Response {
  flight.held = true;
  flight.watch(() => {
    generation.cancelled = true;
  });
  const source: Bun.DirectUnderlyingSource<Uint8Array> = {
    type: 'direct',
    pull: (controller) => play(controller, p, behaviour, generation, flight),
  };
  // Bun's direct streams are missing from the DOM overloads TypeScript picks here.
  return new Response(new ReadableStream(source as unknown as UnderlyingDefaultSource<Uint8Array>), {
    headers: SSE_HEADERS,
  });
}

/** POST /responses. */
export async function responsesResponse(
  state: FakeState,
  flight: Flight,
  body: Record<string, unknown>,
  behaviour: Behaviour,
): Promise<Response> {
  const p = plan(state, body, behaviour);
  if (typeof p === 'string') return errorResponse(400, p);
  const streamed = body.stream === true;
  const generation = state.openGeneration(p.id, p.model, p.bill, p.inputTokens, streamed);
  if (streamed) return streamResponse(p, behaviour, generation, flight);
  if (behaviour.delayMs > 0) await Bun.sleep(behaviour.delayMs);
  setProduced(generation, p.bill, p.pieces.length);
  generation.finishReason = p.trimmed ? 'length' : p.tool ? 'tool_calls' : 'stop';
  const status = p.trimmed ? 'incomplete' : 'completed';
  return jsonResponse(responseJson(p, status, outputItems(p, p.pieces), usageJson(p, p.pieces, behaviour)));
}
