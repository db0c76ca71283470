import { isRecord } from '../../core/billed-request.ts';
import { ESTIMATE_BYTES_PER_TOKEN } from '../../core/prompt-bound.ts';
import { readReportedUsage, type ReportedUsage } from '../../core/reported-usage.ts';
import type { MeteredRequest, ProtocolObserver, UsageSink } from '../protocol.ts';

/**
 * Usage and identity in Anthropic's answers. A stream's `message_start` carries the message id,
 * the model and the prompt's usage (`input_tokens`, `cache_creation_input_tokens`,
 * `cache_read_input_tokens`); its `message_delta` the final `output_tokens` (and, from newer
 * upstreams, the prompt counts again). The request is metered once, at `message_delta`, from both;
 * a stream cut before it is settled like a cut chat stream (generation record, else the estimate).
 * Anthropic's `input_tokens` excludes cached tokens: the prompt is their sum, the cached part
 * priced apart. An upstream that reports its cost (`usage.cost`) is billed by it, and the customer
 * sees their own price there instead; nothing else is rewritten, so a native stream without a cost
 * arrives byte for byte.
 */

type AnthropicUsage = {
  input_tokens?: unknown;
  output_tokens?: unknown;
  cache_creation_input_tokens?: unknown;
  cache_read_input_tokens?: unknown;
  cost?: unknown;
  cost_details?: unknown;
  is_byok?: unknown;
  /** Set by the chat translator when the upstream reported no usage (translate/finish.ts). */
  unreported?: unknown;
};

const count = (value: unknown): number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 0;

/** The report of a final usage (`prompt`: the message_start usage when the final one lacks the prompt's counts). */
function reportOf(final: AnthropicUsage, prompt: AnthropicUsage | undefined): ReportedUsage | undefined {
  if (final.unreported === true) return undefined;
  const source = final.input_tokens === undefined && prompt ? prompt : final;
  const fields = [source.input_tokens, source.cache_creation_input_tokens, source.cache_read_input_tokens];
  const reported = readReportedUsage(fields, [final.output_tokens], final.cost ?? prompt?.cost);
  if (!reported) return undefined;
  const written = count(source.cache_creation_input_tokens);
  const read = count(source.cache_read_input_tokens);
  return {
    ...reported,
    promptTokens: count(source.input_tokens) + written + read,
    ...(read > 0 ? { cacheReadTokens: read } : {}),
    ...(written > 0 ? { cacheWriteTokens: written } : {}),
  };
}

/** Replaces an upstream's cost with the customer's price (or removes it), and the translator's mark; false when neither was there. */
function showPrice(usage: AnthropicUsage, price: number | undefined): boolean {
  const marked = usage.unreported !== undefined;
  delete usage.unreported;
  if (usage.cost === undefined && usage.cost_details === undefined && usage.is_byok === undefined) return marked;
  delete usage.cost_details;
  delete usage.is_byok;
  if (price === undefined) delete usage.cost;
  else usage.cost = price;
  return true;
}

function noteIdentity(ctx: MeteredRequest, message: Record<string, unknown>): void {
  const upstream = ctx.upstream;
  if (!upstream) return;
  if (upstream.generationId === null && typeof message.id === 'string') upstream.generationId = message.id;
  if (upstream.servedModel === null && typeof message.model === 'string') upstream.servedModel = message.model;
}

/** The content a whole message delivers, in tokens at the estimate's rate. */
function deliveredTokens(content: unknown): number {
  if (!Array.isArray(content)) return 0;
  let chars = 0;
  for (const block of content) {
    if (!isRecord(block)) continue;
    if (typeof block.text === 'string') chars += block.text.length;
    else if (typeof block.thinking === 'string') chars += block.thinking.length;
    else if (block.input !== undefined) chars += JSON.stringify(block.input).length;
  }
  return Math.ceil(chars / ESTIMATE_BYTES_PER_TOKEN);
}

function streamObserver<Ctx extends MeteredRequest>(ctx: Ctx, sink: UsageSink<Ctx>): ProtocolObserver {
  let promptUsage: AnthropicUsage | undefined;
  return {
    event(data) {
      const upstream = ctx.upstream;
      // A quoted event name cannot occur inside a JSON string (its quotes are escaped): only the
      // two events with usage are parsed, content passes untouched.
      const start = data.includes('"message_start"');
      if (!start && !data.includes('"message_delta"')) {
        if (upstream && data.includes('"content_block_delta"')) upstream.contentEvents += 1;
        return data;
      }
      let payload: { message?: unknown; usage?: unknown };
      try {
        payload = JSON.parse(data) as typeof payload;
      } catch {
        return data;
      }
      if (start) {
        if (!isRecord(payload.message)) return data;
        noteIdentity(ctx, payload.message);
        const usage = payload.message.usage;
        if (!isRecord(usage)) return data;
        // Kept as reported: a cost here is the final price's to show, none is shown before it.
        promptUsage = { ...(usage as AnthropicUsage) };
        return showPrice(usage as AnthropicUsage, undefined) ? JSON.stringify(payload) : data;
      }
      if (!isRecord(payload.usage)) return data;
      const usage = payload.usage as AnthropicUsage;
      const price = sink.usage(ctx, reportOf(usage, promptUsage));
      return showPrice(usage, price) ? JSON.stringify(payload) : data;
    },
    json() {},
  };
}

function jsonObserver<Ctx extends MeteredRequest>(ctx: Ctx, sink: UsageSink<Ctx>): ProtocolObserver {
  return {
    event: (data) => data,
    json(body) {
      noteIdentity(ctx, body);
      if (ctx.upstream) ctx.upstream.contentEvents = deliveredTokens(body.content);
      if (!isRecord(body.usage)) return;
      const usage = body.usage as AnthropicUsage;
      showPrice(usage, sink.usage(ctx, reportOf(usage, undefined)));
    },
  };
}

export function messagesMeter<Ctx extends MeteredRequest>(
  ctx: Ctx,
  sink: UsageSink<Ctx>,
  stream: boolean,
): ProtocolObserver {
  return stream ? streamObserver(ctx, sink) : jsonObserver(ctx, sink);
}
