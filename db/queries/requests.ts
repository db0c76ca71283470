import type { Db } from '../sql.ts';

/** One row of the usage log, written in the same transaction as the request's settlement. */
export type RequestRecord = {
  id: string;
  tenantId: string;
  accountId: string;
  apiKeyId: string | null;
  route: string;
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
  generationId: string | null;
  latencyMs: number;
  firstByteMs: number | null;
};

/** What one tenant level earned and paid on a request: the basis of each level's margin report. */
export type RequestCharge = { requestId: string; tenantId: string; revenueNanos: bigint; costNanos: bigint };

// postgres.js sends each element of a bool[] parameter through its boolean serializer, which
// turns the text 'true' into false: booleans travel as text and are cast in SQL.
const columns = <T>(rows: readonly RequestRecord[], pick: (r: RequestRecord) => T) => rows.map(pick);

/** The insert of usage log rows, not awaited: the gateway sends it in its settlement statement. */
export function insertRequestsQuery(db: Db, rows: readonly RequestRecord[]) {
  return db`
    insert into requests (id, tenant_id, account_id, api_key_id, route, model, stream, status_code, outcome, error_code,
      prompt_tokens, completion_tokens, prompt_tokens_bound, cost_nanos, charge_nanos, hold_nanos, estimated, generation_id, latency_ms, first_byte_ms)
    select * from unnest(
      ${columns(rows, (r) => r.id)}::text[], ${columns(rows, (r) => r.tenantId)}::uuid[], ${columns(rows, (r) => r.accountId)}::uuid[],
      ${columns(rows, (r) => r.apiKeyId)}::uuid[], ${columns(rows, (r) => r.route)}::text[], ${columns(rows, (r) => r.model)}::text[],
      ${columns(rows, (r) => String(r.stream))}::text[]::bool[], ${columns(rows, (r) => r.statusCode)}::int4[], ${columns(rows, (r) => r.outcome)}::text[],
      ${columns(rows, (r) => r.errorCode)}::text[], ${columns(rows, (r) => r.promptTokens)}::int4[], ${columns(rows, (r) => r.completionTokens)}::int4[],
      ${columns(rows, (r) => r.promptTokensBound)}::int4[], ${columns(rows, (r) => r.costNanos.toString())}::int8[],
      ${columns(rows, (r) => r.chargeNanos.toString())}::int8[], ${columns(rows, (r) => r.holdNanos.toString())}::int8[],
      ${columns(rows, (r) => String(r.estimated))}::text[]::bool[], ${columns(rows, (r) => r.generationId)}::text[],
      ${columns(rows, (r) => Math.round(r.latencyMs))}::int4[], ${columns(rows, (r) => (r.firstByteMs === null ? null : Math.round(r.firstByteMs)))}::int4[])
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
