import type { Db } from '../sql.ts';

/** One upstream call of a request (upstream/failover.ts): the channel's name, the status (0: none), how it ended. */
export type RecordedAttempt = { channel: string; status: number; outcome: string; ms: number };

/** One row of the usage log, written in the same transaction as the request's settlement. */
export type RequestRecord = {
  id: string;
  tenantId: string;
  accountId: string;
  apiKeyId: string | null;
  route: string;
  /** The wire protocol the request spoke (the route's); null when not known (a stream settled after a crash). */
  protocol?: string | null;
  model: string | null;
  stream: boolean;
  statusCode: number;
  outcome: 'completed' | 'aborted' | 'failed' | 'refused';
  errorCode: string | null;
  promptTokens: number;
  completionTokens: number;
  promptTokensBound: number | null;
  costNanos: bigint;
  chargeNanos: bigint;
  holdNanos: bigint;
  estimated: boolean;
  /** The upstream's report was refused as implausible; the request was settled by the estimate. */
  usageDistrusted: boolean;
  generationId: string | null;
  latencyMs: number;
  firstByteMs: number | null;
  /** The stored channel that served the request; null when none did or for a route's own upstream. */
  channelId?: string | null;
  attempts?: readonly RecordedAttempt[];
};

/** What one tenant level earned and paid on a request: the basis of each level's margin report. */
export type RequestCharge = { requestId: string; tenantId: string; revenueNanos: bigint; costNanos: bigint };

// postgres.js sends each element of a bool[] parameter through its boolean serializer, which
// turns the text 'true' into false: booleans travel as text and are cast in SQL.
/** The row as JSON text: one parameter instead of twenty arrays, which postgres.js escapes value by value. */
function requestJson(r: RequestRecord) {
  return {
    id: r.id,
    tenant_id: r.tenantId,
    account_id: r.accountId,
    api_key_id: r.apiKeyId,
    route: r.route,
    protocol: r.protocol ?? null,
    model: r.model,
    stream: r.stream,
    status_code: r.statusCode,
    outcome: r.outcome,
    error_code: r.errorCode,
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    prompt_tokens_bound: r.promptTokensBound,
    cost_nanos: r.costNanos.toString(),
    charge_nanos: r.chargeNanos.toString(),
    hold_nanos: r.holdNanos.toString(),
    estimated: r.estimated,
    usage_distrusted: r.usageDistrusted,
    generation_id: r.generationId,
    latency_ms: Math.round(r.latencyMs),
    first_byte_ms: r.firstByteMs === null ? null : Math.round(r.firstByteMs),
    channel_id: r.channelId ?? null,
    attempts: r.attempts?.length ? r.attempts : null,
  };
}

/** The insert of usage log rows, not awaited: the gateway sends it in its settlement statement. */
export function insertRequestsQuery(db: Db, rows: readonly RequestRecord[]) {
  return db`
    insert into requests (id, tenant_id, account_id, api_key_id, route, protocol, model, stream, status_code, outcome, error_code,
      prompt_tokens, completion_tokens, prompt_tokens_bound, cost_nanos, charge_nanos, hold_nanos, estimated, usage_distrusted,
      generation_id, latency_ms, first_byte_ms, channel_id, attempts)
    select id, tenant_id, account_id, api_key_id, route, protocol, model, stream, status_code, outcome, error_code,
      prompt_tokens, completion_tokens, prompt_tokens_bound, cost_nanos, charge_nanos, hold_nanos, estimated, usage_distrusted,
      generation_id, latency_ms, first_byte_ms, channel_id, attempts
    from json_to_recordset(${JSON.stringify(rows.map(requestJson))}::text::json) as x(
      id text, tenant_id uuid, account_id uuid, api_key_id uuid, route text, protocol text, model text, stream boolean, status_code int4, outcome text,
      error_code text, prompt_tokens int4, completion_tokens int4, prompt_tokens_bound int4, cost_nanos int8, charge_nanos int8, hold_nanos int8,
      estimated boolean, usage_distrusted boolean, generation_id text, latency_ms int4, first_byte_ms int4, channel_id uuid, attempts jsonb)
    on conflict (id) do nothing`;
}

export async function insertRequests(db: Db, rows: readonly RequestRecord[]): Promise<void> {
  if (rows.length > 0) await insertRequestsQuery(db, rows);
}

/** The insert of per-level charges, not awaited: the gateway sends it in its settlement statement. */
export function insertRequestChargesQuery(db: Db, rows: readonly RequestCharge[]) {
  return db`
    insert into request_charges (request_id, tenant_id, revenue_nanos, cost_nanos)
    select * from unnest(${rows.map((r) => r.requestId)}::text[], ${rows.map((r) => r.tenantId)}::uuid[],
      ${rows.map((r) => r.revenueNanos.toString())}::int8[], ${rows.map((r) => r.costNanos.toString())}::int8[])
    on conflict do nothing`;
}

export async function insertRequestCharges(db: Db, rows: readonly RequestCharge[]): Promise<void> {
  if (rows.length > 0) await insertRequestChargesQuery(db, rows);
}
