import { isRecord } from '../../core/billed-request.ts';
import { readReportedUsage, type ReportedUsage } from '../../core/reported-usage.ts';

/**
 * Usage of an upstream that speaks Responses natively, from a whole response or from the stream's
 * final event (`response.completed`, or `response.incomplete` / `response.failed`, which carry the
 * usage of what was produced). `input_tokens` includes the cached tokens and `output_tokens` the
 * reasoning tokens, as chat's prompt and completion counts do, so the ledger settles them alike.
 * OpenRouter adds `cost` (USD) and `cost_details`; the customer sees their own price instead.
 */

/** Stream events whose `response` carries the final usage. */
const FINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

type ResponsesUsagePayload = Record<string, unknown>;

/** The usage object of a whole response, or of a stream event that ends one; undefined otherwise. */
export function responsesUsageOf(payload: unknown): ResponsesUsagePayload | undefined {
  if (!isRecord(payload)) return undefined;
  const response =
    typeof payload.type === 'string' ? (FINAL_EVENTS.has(payload.type) ? payload.response : undefined) : payload;
  return isRecord(response) && isRecord(response.usage) ? response.usage : undefined;
}

/** The reported usage, bounded as every upstream report is; undefined when implausible. */
export function readResponsesUsage(usage: ResponsesUsagePayload): ReportedUsage | undefined {
  return readReportedUsage([usage.input_tokens], [usage.output_tokens], usage.cost);
}

/** Replaces the upstream's cost with the customer's price (or removes it when there is none). */
export function showCustomerCost(usage: ResponsesUsagePayload, customerUsd: number | undefined): void {
  delete usage.cost_details;
  delete usage.is_byok;
  if (customerUsd === undefined) delete usage.cost;
  else usage.cost = customerUsd;
}

/** A stream event's data may end the response: only those are parsed (cheap test first). */
export function mayEndResponse(data: string): boolean {
  return (
    data.includes('"response.completed"') ||
    data.includes('"response.incomplete"') ||
    data.includes('"response.failed"')
  );
}
