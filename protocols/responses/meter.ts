import { isRecord } from '../../core/billed-request.ts';
import { ESTIMATE_BYTES_PER_TOKEN } from '../../core/prompt-bound.ts';
import type { MeteredRequest, ProtocolObserver, UsageSink } from '../protocol.ts';
import { mayEndResponse, readResponsesUsage, responsesUsageOf, showCustomerCost } from './usage.ts';

/**
 * Usage and identity in Responses answers (protocols/responses/usage.ts reads them): the id and
 * model from `response.created` (or the whole response), the usage from the event that ends the
 * stream. Only those events are parsed; content passes untouched. The customer sees their own
 * price in `usage.cost` where the upstream reported one; an answer without a cost is not
 * rewritten, so a native stream arrives byte for byte.
 */

function noteIdentity(ctx: MeteredRequest, response: unknown): void {
  const upstream = ctx.upstream;
  if (!upstream || !isRecord(response)) return;
  if (upstream.generationId === null && typeof response.id === 'string') upstream.generationId = response.id;
  if (upstream.servedModel === null && typeof response.model === 'string') upstream.servedModel = response.model;
}

/** Whether the upstream put a cost of its own in the usage (the customer's price replaces it). */
const carriesCost = (usage: Record<string, unknown>) =>
  usage.cost !== undefined || usage.cost_details !== undefined || usage.is_byok !== undefined;

function meterUsage<Ctx extends MeteredRequest>(
  ctx: Ctx,
  sink: UsageSink<Ctx>,
  usage: Record<string, unknown>,
): boolean {
  const price = sink.usage(ctx, readResponsesUsage(usage));
  if (!carriesCost(usage)) return false;
  showCustomerCost(usage, price);
  return true;
}

/** The text an answer's output items deliver, in tokens at the estimate's rate. */
function deliveredTokens(output: unknown): number {
  if (!Array.isArray(output)) return 0;
  let chars = 0;
  for (const item of output) {
    if (!isRecord(item)) continue;
    for (const field of ['arguments', 'input'] as const) {
      const value = item[field];
      if (typeof value === 'string') chars += value.length;
    }
    for (const part of [
      ...(Array.isArray(item.content) ? item.content : []),
      ...(Array.isArray(item.summary) ? item.summary : []),
    ]) {
      if (isRecord(part) && typeof part.text === 'string') chars += part.text.length;
    }
  }
  return Math.ceil(chars / ESTIMATE_BYTES_PER_TOKEN);
}

function streamObserver<Ctx extends MeteredRequest>(ctx: Ctx, sink: UsageSink<Ctx>): ProtocolObserver {
  return {
    event(data) {
      const upstream = ctx.upstream;
      const created = upstream?.generationId === null && data.includes('"response.created"');
      if (!created && !mayEndResponse(data)) {
        // Each delta (text, arguments, reasoning) is content the client received.
        if (upstream && data.includes('.delta"')) upstream.contentEvents += 1;
        return data;
      }
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(data) as Record<string, unknown>;
      } catch {
        return data;
      }
      noteIdentity(ctx, payload.response);
      const usage = responsesUsageOf(payload);
      if (!usage) return data;
      return meterUsage(ctx, sink, usage) ? JSON.stringify(payload) : data;
    },
    json() {},
  };
}

function jsonObserver<Ctx extends MeteredRequest>(ctx: Ctx, sink: UsageSink<Ctx>): ProtocolObserver {
  return {
    event: (data) => data,
    json(body) {
      noteIdentity(ctx, body);
      if (ctx.upstream) ctx.upstream.contentEvents = deliveredTokens(body.output);
      const usage = responsesUsageOf(body);
      if (usage) meterUsage(ctx, sink, usage);
    },
  };
}

export function responsesMeter<Ctx extends MeteredRequest>(
  ctx: Ctx,
  sink: UsageSink<Ctx>,
  stream: boolean,
): ProtocolObserver {
  return stream ? streamObserver(ctx, sink) : jsonObserver(ctx, sink);
}
