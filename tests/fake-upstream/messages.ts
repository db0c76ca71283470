import { behaviourFor, type Behaviour } from './behaviour.ts';
import { billFor, costUsd, type Bill } from './billing.ts';
import { findModel, type PricedModel } from './models.ts';
import { errorResponse, isRecord, jsonResponse, setProduced, type FakeState, type Flight } from './state.ts';

/**
 * The fake's Anthropic Messages API (`POST /messages`, as OpenRouter serves it under `/api/v1`),
 * deterministic like the rest of the fake:
 * - prompt tokens: ceil(UTF-8 bytes of the text / 4) + 3 for `system` (when present) and for each
 *   message, counting string content and the `text` of text blocks (and of tool_result text);
 *   images, documents, tools and thinking count nothing. When a message block marks
 *   `cache_control`, all of them are reported as `cache_creation_input_tokens` (billed at the
 *   model's cache-write price, as the chat fake bills them) and `input_tokens` is 0.
 * - the answer: with `thinking` enabled or adaptive, first a thinking block (`think0 think1`, then
 *   a signature); then `tok0 tok1 …` (`chunks`, trimmed by max_tokens), one text_delta each; with
 *   `tool_call` and tools, a tool_use block calling the first tool with {"city":"Paris"}, streamed
 *   as four input_json_delta pieces, and stop_reason "tool_use".
 * - usage: in message_start (input side) and message_delta (output_tokens); `usage.cost`, the exact
 *   bill, in message_delta (or the JSON usage) unless `no_cost`; nothing with `no_usage`.
 * - `status=NNN`: an Anthropic-shaped error; `cut_after=N`: N deltas, then the connection drops;
 *   `stream_error_after=N`: N deltas, then an `error` event (overloaded_error).
 */

const TOOL_PIECES = ['{"ci', 'ty":', '"Par', 'is"}'];
const THINKING_PIECES = ['think0 ', 'think1 '];
const SIGNATURE = 'c2lnbmF0dXJlLW9mLXRoZS1mYWtl';
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };
const CUT_GRACE_MS = 25;
const BYTES_PER_TOKEN = 4;
const MESSAGE_OVERHEAD_TOKENS = 3;
const tokenTexts = Array.from({ length: 4096 }, (_, i) => `tok${i} `);

function textBytes(content: unknown): number {
  if (typeof content === 'string') return Buffer.byteLength(content);
  if (!Array.isArray(content)) return 0;
  let bytes = 0;
  for (const block of content) {
    if (!isRecord(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') bytes += Buffer.byteLength(block.text);
    if (block.type === 'tool_result') bytes += textBytes(block.content);
  }
  return bytes;
}

/** The fake's prompt token count of a Messages body (see above). */
export function fakeMessagesPromptTokens(body: Record<string, unknown>): number {
  const count = (content: unknown) => Math.ceil(textBytes(content) / BYTES_PER_TOKEN) + MESSAGE_OVERHEAD_TOKENS;
  let tokens = body.system === undefined ? 0 : count(body.system);
  for (const message of Array.isArray(body.messages) ? body.messages : [])
    tokens += count(isRecord(message) ? message.content : undefined);
  return tokens;
}

function marksCache(body: Record<string, unknown>): boolean {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  return messages.some(
    (m) =>
      isRecord(m) && Array.isArray(m.content) && m.content.some((b) => isRecord(b) && b.cache_control !== undefined),
  );
}

/** An Anthropic-shaped upstream error, with a secret in it the gateway must never forward. */
function anthropicUpstreamError(status: number): Response {
  const type = status === 429 ? 'rate_limit_error' : status === 529 ? 'overloaded_error' : 'api_error';
  const body = { type: 'error', error: { type, message: `Fake upstream error ${status} (sk-upstream-SECRET)` } };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (status === 429) headers['retry-after'] = '1';
  return new Response(JSON.stringify(body), { status, headers });
}

type Block = { start: Record<string, unknown>; deltas: Record<string, unknown>[] };

type Plan = {
  id: string;
  model: PricedModel;
  bill: Bill;
  promptTokens: number;
  cached: boolean;
  blocks: Block[];
  outputTokens: number;
  stopReason: string;
};

function planMessage(state: FakeState, body: Record<string, unknown>, behaviour: Behaviour): Plan | string {
  const model = findModel(body.model);
  if (!model) return `${String(body.model)} is not a valid model ID`;
  if (!Array.isArray(body.messages) || body.messages.length === 0) return 'messages: must be a non-empty array';
  if (typeof body.max_tokens !== 'number') return 'max_tokens: Field required';
  let budget = body.max_tokens;
  const blocks: Block[] = [];
  const thinking = isRecord(body.thinking) && (body.thinking.type === 'enabled' || body.thinking.type === 'adaptive');
  if (thinking) {
    const pieces = THINKING_PIECES.slice(0, budget);
    budget -= pieces.length;
    blocks.push({
      start: { type: 'thinking', thinking: '', signature: '' },
      deltas: [
        ...pieces.map((thinking) => ({ type: 'thinking_delta', thinking })),
        { type: 'signature_delta', signature: SIGNATURE },
      ],
    });
  }
  const tools = Array.isArray(body.tools) ? body.tools : [];
  const tool = behaviour.toolCall && isRecord(tools[0]) ? tools[0] : undefined;
  const pieces = (tool ? TOOL_PIECES : tokenTexts.slice(0, behaviour.chunks)).slice(0, Math.max(budget, 0));
  const id = state.nextId('msg_fake');
  if (tool)
    blocks.push({
      start: { type: 'tool_use', id: `toolu_${id}`, name: String(tool.name), input: {} },
      deltas: pieces.map((partial_json) => ({ type: 'input_json_delta', partial_json })),
    });
  else blocks.push({ start: { type: 'text', text: '' }, deltas: pieces.map((text) => ({ type: 'text_delta', text })) });
  const outputTokens = blocks.reduce((n, b) => n + b.deltas.filter((d) => d.type !== 'signature_delta').length, 0);
  const limited = !tool && pieces.length < behaviour.chunks;
  return {
    id,
    model,
    bill: billFor(model, body, behaviour),
    promptTokens: fakeMessagesPromptTokens(body),
    cached: marksCache(body),
    blocks,
    outputTokens,
    stopReason: tool ? 'tool_use' : limited ? 'max_tokens' : 'end_turn',
  };
}

function inputUsage(plan: Plan): string {
  const input = plan.cached ? 0 : plan.promptTokens;
  const written = plan.cached ? plan.promptTokens : 0;
  return `"input_tokens":${input},"cache_creation_input_tokens":${written},"cache_read_input_tokens":0`;
}

/** The usage object; `cost` is spliced in as text so it prints exactly. */
function usageText(plan: Plan, outputTokens: number, behaviour: Behaviour, withInput: boolean): string {
  const cost = behaviour.noCost ? '' : `,"cost":${costUsd(plan.bill, plan.promptTokens, outputTokens)}`;
  return `{${withInput ? `${inputUsage(plan)},` : ''}"output_tokens":${outputTokens}${cost}}`;
}

function finalBlock(block: Block): Record<string, unknown> {
  const start = block.start;
  if (start.type === 'text') return { type: 'text', text: block.deltas.map((d) => d.text).join('') };
  if (start.type === 'thinking')
    return {
      type: 'thinking',
      thinking: block.deltas.map((d) => d.thinking ?? '').join(''),
      signature: SIGNATURE,
    };
  return { ...start, input: JSON.parse(block.deltas.map((d) => d.partial_json).join('') || '{}') };
}

function messageJson(plan: Plan, behaviour: Behaviour): string {
  const head = JSON.stringify({
    id: plan.id,
    type: 'message',
    role: 'assistant',
    model: plan.model.id,
    content: plan.blocks.map(finalBlock),
    stop_reason: plan.stopReason,
    stop_sequence: null,
  });
  if (behaviour.noUsage) return head;
  return `${head.slice(0, -1)},"usage":${usageText(plan, plan.outputTokens, behaviour, true)}}`;
}

const event = (name: string, data: string) => `event: ${name}\ndata: ${data}\n\n`;

type Script = { events: string[]; countsAt: number[]; produced: number; tail: string; cut: boolean };

/** Every event of the stream, and after which one each output token was produced. */
function buildScript(plan: Plan, behaviour: Behaviour): Script {
  const start = JSON.stringify({
    type: 'message_start',
    message: {
      id: plan.id,
      type: 'message',
      role: 'assistant',
      model: plan.model.id,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      ...(behaviour.noUsage ? {} : { usage: 'USAGE' }),
    },
  }).replace('"USAGE"', `{${inputUsage(plan)},"output_tokens":1}`);
  const events = [event('message_start', start), event('ping', '{"type": "ping"}')];
  const countsAt: number[] = [];
  const stopAfter = Math.min(behaviour.cutAfter ?? Infinity, behaviour.streamErrorAfter ?? Infinity);
  let produced = 0;
  let deltas = 0;
  for (const [index, block] of plan.blocks.entries()) {
    events.push(
      event('content_block_start', JSON.stringify({ type: 'content_block_start', index, content_block: block.start })),
    );
    for (const delta of block.deltas) {
      if (deltas >= stopAfter) break;
      deltas += 1;
      if (delta.type !== 'signature_delta') produced += 1;
      events.push(event('content_block_delta', JSON.stringify({ type: 'content_block_delta', index, delta })));
      countsAt[events.length - 1] = produced;
    }
    if (deltas >= stopAfter) break;
    events.push(event('content_block_stop', `{"type":"content_block_stop","index":${index}}`));
  }
  const cut = behaviour.cutAfter !== null && behaviour.cutAfter <= (behaviour.streamErrorAfter ?? Infinity);
  if (cut) return { events, countsAt, produced, tail: '', cut };
  if (behaviour.streamErrorAfter !== null)
    return {
      events,
      countsAt,
      produced,
      tail: event('error', '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'),
      cut,
    };
  const usage = behaviour.noUsage ? '' : `,"usage":${usageText(plan, produced, behaviour, false)}`;
  const tail =
    event(
      'message_delta',
      `{"type":"message_delta","delta":{"stop_reason":"${plan.stopReason}","stop_sequence":null}${usage}}`,
    ) + event('message_stop', '{"type":"message_stop"}');
  return { events, countsAt, produced, tail, cut };
}

async function play(
  controller: ReadableStreamDirectController,
  script: Script,
  behaviour: Behaviour,
  flight: Flight,
  produce: (tokens: number) => void,
): Promise<void> {
  for (const [index, text] of script.events.entries()) {
    if (behaviour.delayMs > 0 && script.countsAt[index] !== undefined) await Bun.sleep(behaviour.delayMs);
    if (!flight.open) return controller.close();
    controller.write(text);
    await controller.flush();
    const count = script.countsAt[index];
    if (count !== undefined) produce(count);
  }
  if (script.cut) await Bun.sleep(CUT_GRACE_MS);
  if (!flight.open) return controller.close();
  flight.end();
  if (script.cut) return controller.close(new Error('fake upstream cut the connection'));
  controller.write(script.tail);
  controller.close();
}

/** POST /messages: the directives of the raw body steer it (./behaviour.ts), errors in Anthropic's shape. */
export function messagesResponse(
  state: FakeState,
  flight: Flight,
  body: Record<string, unknown>,
  rawBody: string,
): Response | Promise<Response> {
  const behaviour = behaviourFor(rawBody, state.defaults);
  if (typeof behaviour === 'string') return errorResponse(400, behaviour);
  if (behaviour.status !== null) return anthropicUpstreamError(behaviour.status);
  if (behaviour.hang) return new Promise((resolve) => flight.watch(() => resolve(new Response(null, { status: 499 }))));
  const plan = planMessage(state, body, behaviour);
  if (typeof plan === 'string') return errorResponse(400, plan);
  const streamed = body.stream === true;
  const generation = state.openGeneration(plan.id, plan.model, plan.bill, plan.promptTokens, streamed);
  const produce = (tokens: number) => setProduced(generation, plan.bill, tokens);
  if (!streamed) {
    produce(plan.outputTokens);
    generation.finishReason = plan.stopReason;
    return jsonResponse(messageJson(plan, behaviour));
  }
  const script = buildScript(plan, behaviour);
  if (!script.cut && behaviour.delayMs === 0) {
    produce(script.produced);
    generation.finishReason = plan.stopReason;
    return new Response(script.events.join('') + script.tail, { headers: SSE_HEADERS });
  }
  flight.held = true;
  flight.watch(() => {
    generation.cancelled = true;
  });
  const source: Bun.DirectUnderlyingSource<Uint8Array> = {
    type: 'direct',
    pull: (controller) => play(controller, script, behaviour, flight, produce),
  };
  return new Response(new ReadableStream(source as unknown as UnderlyingDefaultSource<Uint8Array>), {
    headers: SSE_HEADERS,
  });
}
