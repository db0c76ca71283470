import { createHash } from 'node:crypto';
import { formatUsd } from '../core/money.ts';
import { enqueueOutbox, enqueueWebhookEvent, type Json } from '../db/queries/outbox.ts';
import type { Db } from '../db/sql.ts';
import { enqueueEmail, type EmailNotice, type NoticeAccount } from './notices.ts';

/**
 * Events about an account: each one becomes a delivery to every webhook endpoint that asked for
 * its type and, when the event has one, an e-mail to the account, all written in the caller's
 * transaction. The event id is derived from its type and cause, so every endpoint sees the same id
 * for the same event and a replayed cause cannot make a second one.
 */

export const WEBHOOK_EVENT_TYPES = [
  'balance.threshold_crossed',
  'payment.succeeded',
  'payment.failed',
  'key.created',
  'key.revoked',
  'request.refused_credit',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
/** Only sent by the "send test event" action, to one endpoint. */
const TEST_EVENT_TYPE = 'test.ping';

/** Receivers are retried for three days, as Stripe does: long enough to survive a weekend outage. */
const WEBHOOK_GIVE_UP_SECONDS = 3 * 24 * 3600;
const EVENT_ID_HEX_CHARS = 24;

export function eventId(type: string, cause: string): string {
  return `evt_${createHash('sha256').update(`${type}:${cause}`).digest('hex').slice(0, EVENT_ID_HEX_CHARS)}`;
}

/** Money in event payloads: the exact integer and its exact USD text, as in the GraphQL API. */
export function money(nanos: bigint): { nanos: string; usd: string } {
  return { nanos: nanos.toString(), usd: formatUsd(nanos) };
}

/** The body a receiver gets: what it is, when it happened, and its data. */
function eventBody(id: string, type: string, data: { [key: string]: Json }): { [key: string]: Json } {
  return { id, type, created: Math.floor(Date.now() / 1000), data };
}

export type AccountEvent = {
  type: WebhookEventType;
  /** What caused it, with its period where a cause repeats (a threshold's crossing number). */
  cause: string;
  data: { [key: string]: Json };
  email?: EmailNotice;
};

export async function emitAccountEvent(db: Db, account: NoticeAccount, event: AccountEvent): Promise<void> {
  const id = eventId(event.type, event.cause);
  await enqueueWebhookEvent(db, {
    tenantId: account.tenantId,
    accountId: account.id,
    eventType: event.type,
    eventId: id,
    payload: eventBody(id, event.type, { accountId: account.id, ...event.data }),
    giveUpAfterSeconds: WEBHOOK_GIVE_UP_SECONDS,
  });
  if (event.email) await enqueueEmail(db, account, event.email);
}

/** A "send test event" delivery: to one endpoint only, a new event id each time. */
export async function enqueueTestEvent(
  db: Db,
  endpoint: { id: string; tenantId: string; accountId: string | null },
): Promise<string> {
  const id = eventId(TEST_EVENT_TYPE, crypto.randomUUID());
  await enqueueOutbox(db, {
    tenantId: endpoint.tenantId,
    accountId: endpoint.accountId,
    channel: 'webhook',
    topic: TEST_EVENT_TYPE,
    dedupeKey: `webhook:${endpoint.id}:${id}`,
    endpointId: endpoint.id,
    eventId: id,
    payload: eventBody(id, TEST_EVENT_TYPE, { endpointId: endpoint.id, message: 'A test event from Tollgate.' }),
    giveUpAfterSeconds: WEBHOOK_GIVE_UP_SECONDS,
  });
  return id;
}
