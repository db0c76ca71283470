import { ESTIMATE_BYTES_PER_TOKEN } from '../../core/prompt-bound.ts';
import { readReportedUsage } from '../../core/reported-usage.ts';
import type { MeteredRequest, ProtocolObserver, UsageSink } from '../protocol.ts';

/**
 * Usage and identity in OpenAI's answers: the final usage chunk of a stream or the `usage` of a
 * JSON body, and the generation id and served model from the first chunk. The customer sees their
 * own price in `usage.cost`; the upstream's cost and cost details are removed.
 */

type UsagePayload = {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  cost?: unknown;
  cost_details?: unknown;
  is_byok?: unknown;
};
type Payload = { id?: unknown; model?: unknown; usage?: UsagePayload | null; choices?: unknown };

function readUsage<Ctx extends MeteredRequest>(ctx: Ctx, sink: UsageSink<Ctx>, usage: UsagePayload): void {
  const price = sink.usage(ctx, readReportedUsage([usage.prompt_tokens], [usage.completion_tokens], usage.cost));
  delete usage.cost_details;
  delete usage.is_byok;
  if (price === undefined) delete usage.cost;
  else usage.cost = price;
}

/** The text a JSON answer delivers, in tokens at the estimate's rate: what an estimate charges for. */
function deliveredTokens(payload: Payload): number {
  if (!Array.isArray(payload.choices)) return 0;
  let chars = 0;
  for (const choice of payload.choices as { message?: { content?: unknown; tool_calls?: unknown }; text?: unknown }[]) {
    const content = choice?.message?.content ?? choice?.text;
    if (typeof content === 'string') chars += content.length;
    if (choice?.message?.tool_calls !== undefined) chars += JSON.stringify(choice.message.tool_calls).length;
  }
  return Math.ceil(chars / ESTIMATE_BYTES_PER_TOKEN);
}

function noteIdentity(ctx: MeteredRequest, payload: Payload): void {
  const upstream = ctx.upstream;
  if (!upstream) return;
  if (upstream.generationId === null && typeof payload.id === 'string') upstream.generationId = payload.id;
  if (upstream.servedModel === null && typeof payload.model === 'string') upstream.servedModel = payload.model;
}

function streamObserver<Ctx extends MeteredRequest>(ctx: Ctx, sink: UsageSink<Ctx>): ProtocolObserver {
  const wantsUsage = ctx.billed?.wantsUsageInStream ?? false;
  let first = true;
  return {
    event(data) {
      const upstream = ctx.upstream;
      // Only the first chunk (identity) and a usage chunk need parsing; content passes untouched.
      const mayHaveUsage = data.includes('"usage":{') || data.includes('"usage": {');
      if (!first && !mayHaveUsage) {
        if (upstream) upstream.contentEvents += 1;
        return data;
      }
      let payload: Payload;
      try {
        payload = JSON.parse(data) as Payload;
      } catch {
        return data;
      }
      if (first) noteIdentity(ctx, payload);
      first = false;
      const hasChoices = Array.isArray(payload.choices) && payload.choices.length > 0;
      if (hasChoices && upstream) upstream.contentEvents += 1;
      if (!payload.usage || typeof payload.usage !== 'object') return data;
      readUsage(ctx, sink, payload.usage);
      if (!wantsUsage) {
        if (!hasChoices) return null;
        delete payload.usage;
      }
      return JSON.stringify(payload);
    },
    json() {},
  };
}

function jsonObserver<Ctx extends MeteredRequest>(ctx: Ctx, sink: UsageSink<Ctx>): ProtocolObserver {
  return {
    event: (data) => data,
    json(body) {
      const payload = body as Payload;
      noteIdentity(ctx, payload);
      if (ctx.upstream) ctx.upstream.contentEvents = deliveredTokens(payload);
      if (payload.usage && typeof payload.usage === 'object') readUsage(ctx, sink, payload.usage);
    },
  };
}

export function openAiMeter<Ctx extends MeteredRequest>(
  ctx: Ctx,
  sink: UsageSink<Ctx>,
  stream: boolean,
): ProtocolObserver {
  return stream ? streamObserver(ctx, sink) : jsonObserver(ctx, sink);
}
