import type { Db, TransactionSql } from '../sql.ts';

/**
 * The outbox: messages written in the same transaction as their cause, delivered later by a
 * worker in each gateway process. A row is leased by one worker at a time (`for update skip
 * locked`), and the lease moves the row's next attempt to the lease's end, so a worker that dies
 * mid-delivery hands the row back when its lease runs out instead of never.
 */

export type OutboxChannel = 'email' | 'webhook';
export type OutboxStatus = 'pending' | 'sent' | 'failed';
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export type NewOutboxRow = {
  tenantId: string;
  accountId: string | null;
  channel: OutboxChannel;
  topic: string;
  dedupeKey: string;
  recipient?: string | null;
  endpointId?: string | null;
  eventId?: string | null;
  payload: { [key: string]: Json };
  giveUpAfterSeconds: number;
  /** Held back this long before the first attempt (a receipt that Stripe has yet to give us). */
  delaySeconds?: number;
};

export type OutboxRow = {
  id: bigint;
  tenantId: string;
  accountId: string | null;
  channel: OutboxChannel;
  topic: string;
  recipient: string | null;
  endpointId: string | null;
  eventId: string | null;
  payload: { [key: string]: Json };
  status: OutboxStatus;
  attempts: number;
  leaseToken: string | null;
  giveUpAt: Date;
  lastError: string | null;
  createdAt: Date;
  finishedAt: Date | null;
};

type Row = {
  id: bigint;
  tenant_id: string;
  account_id: string | null;
  channel: OutboxChannel;
  topic: string;
  recipient: string | null;
  endpoint_id: string | null;
  event_id: string | null;
  payload: { [key: string]: Json };
  status: OutboxStatus;
  attempts: number;
  lease_token: string | null;
  give_up_at: Date;
  last_error: string | null;
  created_at: Date;
  finished_at: Date | null;
};

function fromRow(row: Row): OutboxRow {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    accountId: row.account_id,
    channel: row.channel,
    topic: row.topic,
    recipient: row.recipient,
    endpointId: row.endpoint_id,
    eventId: row.event_id,
    payload: row.payload,
    status: row.status,
    attempts: row.attempts,
    leaseToken: row.lease_token,
    giveUpAt: row.give_up_at,
    lastError: row.last_error,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

/** Adds a message once per dedupe key; true when this call added it. */
export async function enqueueOutbox(db: Db, row: NewOutboxRow): Promise<boolean> {
  const added = await db`
    insert into outbox (tenant_id, account_id, channel, topic, dedupe_key, recipient, endpoint_id, event_id, payload,
                        next_attempt_at, give_up_at)
    values (${row.tenantId}::uuid, ${row.accountId}::uuid, ${row.channel}, ${row.topic}, ${row.dedupeKey},
            ${row.recipient ?? null}, ${row.endpointId ?? null}::uuid, ${row.eventId ?? null}, ${db.json(row.payload)},
            now() + make_interval(secs => ${row.delaySeconds ?? 0}),
            now() + make_interval(secs => ${row.giveUpAfterSeconds}))
    on conflict (dedupe_key) do nothing`;
  return added.count === 1;
}

export type WebhookFanOut = {
  tenantId: string;
  accountId: string;
  eventType: string;
  eventId: string;
  payload: { [key: string]: Json };
  giveUpAfterSeconds: number;
};

/**
 * Adds one delivery of an event for every live endpoint that asked for its type: the tenant's own
 * endpoints and the account's. One row per endpoint and event id, however often it is called.
 */
export async function enqueueWebhookEvent(db: Db, event: WebhookFanOut): Promise<number> {
  const added = await db`
    insert into outbox (tenant_id, account_id, channel, topic, dedupe_key, endpoint_id, event_id, payload, give_up_at)
    select e.tenant_id, ${event.accountId}::uuid, 'webhook', ${event.eventType},
           'webhook:' || e.id || ':' || ${event.eventId},
           e.id, ${event.eventId}, ${db.json(event.payload)}, now() + make_interval(secs => ${event.giveUpAfterSeconds})
    from webhook_endpoints e
    where e.tenant_id = ${event.tenantId}::uuid and e.disabled_at is null
      and (e.account_id is null or e.account_id = ${event.accountId}::uuid) and ${event.eventType} = any(e.events)
    on conflict (dedupe_key) do nothing`;
  return added.count;
}

/** Leases up to `limit` due rows for `leaseSeconds`; each gets a fresh lease token and one more attempt. */
export async function leaseDueOutbox(db: Db, limit: number, leaseSeconds: number): Promise<OutboxRow[]> {
  const rows = await db<Row[]>`
    update outbox o
    set lease_token = gen_random_uuid(), attempts = o.attempts + 1,
        next_attempt_at = now() + make_interval(secs => ${leaseSeconds})
    from (
      select id from outbox where status = 'pending' and next_attempt_at <= now()
      order by next_attempt_at limit ${limit} for update skip locked
    ) due
    where o.id = due.id
    returning o.*`;
  return rows.map(fromRow);
}

export type AttemptRecord = {
  startedAt: Date;
  durationMs: number;
  ok: boolean;
  statusCode: number | null;
  error: string | null;
};

/** What the worker decided after an attempt: delivered, try again at a time, or give up. */
export type AttemptOutcome = { kind: 'sent' } | { kind: 'retry'; delayMs: number } | { kind: 'failed' };

const MAX_ERROR_CHARS = 1_000;

/**
 * Records an attempt and its outcome, but only while the caller still holds the row's lease: a
 * worker whose lease ran out (and whose row another worker took) changes nothing. A finished row
 * loses the secrets its payload carried for rendering (a mailed token), which are never needed again.
 */
export async function finishOutboxAttempt(
  tx: TransactionSql,
  row: OutboxRow,
  attempt: AttemptRecord,
  outcome: AttemptOutcome,
): Promise<boolean> {
  const error = attempt.error?.slice(0, MAX_ERROR_CHARS) ?? null;
  const status = outcome.kind === 'retry' ? 'pending' : outcome.kind;
  const delayMs = outcome.kind === 'retry' ? outcome.delayMs : 0;
  const [updated] = await tx<{ id: bigint }[]>`
    update outbox set
      status = ${status},
      lease_token = null,
      next_attempt_at = case when ${status} = 'pending' then now() + make_interval(secs => ${delayMs / 1000})
                        else next_attempt_at end,
      last_error = ${error},
      finished_at = case when ${status} = 'pending' then null else now() end,
      payload = case when ${status} = 'pending' then payload else payload - 'token' end
    where id = ${row.id.toString()}::int8 and lease_token = ${row.leaseToken}::uuid
    returning id`;
  if (!updated) return false;
  await tx`
    insert into outbox_attempts (outbox_id, attempt, started_at, duration_ms, ok, status_code, error)
    values (${row.id.toString()}::int8, ${row.attempts}, ${attempt.startedAt}, ${Math.round(attempt.durationMs)},
            ${attempt.ok}, ${attempt.statusCode}, ${error})`;
  return true;
}

export type OutboxAttempt = AttemptRecord & { attempt: number };

export async function listOutboxAttempts(db: Db, outboxIds: readonly bigint[]): Promise<Map<bigint, OutboxAttempt[]>> {
  const rows = await db<
    {
      outbox_id: bigint;
      attempt: number;
      started_at: Date;
      duration_ms: number;
      ok: boolean;
      status_code: number | null;
      error: string | null;
    }[]
  >`
    select * from outbox_attempts where outbox_id = any(${outboxIds.map(String)}::int8[]) order by outbox_id, attempt`;
  const byRow = new Map<bigint, OutboxAttempt[]>();
  for (const row of rows) {
    const list = byRow.get(row.outbox_id) ?? [];
    list.push({
      attempt: row.attempt,
      startedAt: row.started_at,
      durationMs: row.duration_ms,
      ok: row.ok,
      statusCode: row.status_code,
      error: row.error,
    });
    byRow.set(row.outbox_id, list);
  }
  return byRow;
}

/** The newest deliveries to one webhook endpoint. */
export async function listEndpointDeliveries(db: Db, endpointId: string, limit: number): Promise<OutboxRow[]> {
  const rows = await db<Row[]>`
    select * from outbox where endpoint_id = ${endpointId}::uuid order by id desc limit ${limit}`;
  return rows.map(fromRow);
}
