import type { Db, TransactionSql } from '../sql.ts';

/**
 * Every Stripe event id Tollgate has handled, recorded in the same transaction as the event's
 * effects. The primary key makes concurrent deliveries of one event wait for each other: the
 * first inserts and applies, the others find the row once it commits and change nothing.
 */

export type EventSource = 'webhook' | 'sync';
type NewStripeEvent = { id: string; type: string; createdAt: Date; source: EventSource };

export async function isEventRecorded(db: Db, eventId: string): Promise<boolean> {
  const [row] = await db`select 1 from stripe_events where id = ${eventId}`;
  return row !== undefined;
}

/** True when this call recorded the event; false when it was already recorded (by anyone). */
export async function recordEvent(tx: TransactionSql, event: NewStripeEvent): Promise<boolean> {
  const inserted = await tx`
    insert into stripe_events (id, type, stripe_created_at, source) values (${event.id}, ${event.type}, ${event.createdAt}, ${event.source})
    on conflict (id) do nothing returning id`;
  return inserted.length > 0;
}

/** The outcome, written before the recording transaction commits. */
export async function setEventOutcome(
  tx: TransactionSql,
  eventId: string,
  outcome: string,
  paymentId: string | null,
): Promise<void> {
  await tx`update stripe_events set outcome = ${outcome}, payment_id = ${paymentId}::uuid where id = ${eventId}`;
}

/** Which of these event ids are recorded already: what the missed-events sync skips. */
export async function recordedEventIds(db: Db, eventIds: readonly string[]): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const rows = await db<{ id: string }[]>`select id from stripe_events where id = any(${[...eventIds]}::text[])`;
  return new Set(rows.map((row) => row.id));
}
