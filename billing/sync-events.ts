import { recordedEventIds } from '../db/queries/stripe-events.ts';
import { HANDLED_EVENT_TYPES, processStripeEvent } from './events.ts';
import { completeReceipt } from './receipts.ts';
import type { BillingDeps } from './stripe-client.ts';
import { asJson, readEvent } from './stripe-objects.ts';

/**
 * The missed-events sync: lists recent Stripe events of the handled types and applies, oldest
 * first, every one not recorded yet, through the same code as the webhook. Running it again finds
 * them all recorded and changes nothing; running it while the webhook delivers the same events is
 * safe too, because applying an event records it in the same transaction.
 */

/** Stripe keeps events for 30 days; the listing stops here whatever the window holds. */
const MAX_SYNC_EVENTS = 10_000;

export type SyncedEvent = { eventId: string; type: string; outcome: string };
type SyncReport = { listed: number; alreadyRecorded: number; applied: SyncedEvent[]; missing: SyncedEvent[] };

export async function syncMissedEvents(
  deps: BillingDeps,
  options: { since: Date; dryRun: boolean },
): Promise<SyncReport> {
  const listed: unknown[] = [];
  const created = { gte: Math.floor(options.since.getTime() / 1000) };
  for await (const event of deps.stripe.events.list({ created, types: [...HANDLED_EVENT_TYPES], limit: 100 })) {
    listed.push(asJson(event));
    if (listed.length >= MAX_SYNC_EVENTS) break;
  }
  const events = listed
    .map((raw) => ({ raw, view: readEvent(raw) }))
    .filter((e): e is { raw: unknown; view: NonNullable<ReturnType<typeof readEvent>> } => e.view !== undefined);
  // Oldest first, so a purchase is applied before its refund, as Stripe sent them.
  events.sort((a, b) => a.view.createdAt.getTime() - b.view.createdAt.getTime() || a.view.id.localeCompare(b.view.id));
  const recorded = await recordedEventIds(
    deps.sql,
    events.map((e) => e.view.id),
  );
  const report: SyncReport = { listed: events.length, alreadyRecorded: 0, applied: [], missing: [] };
  for (const { raw, view } of events) {
    if (recorded.has(view.id)) {
      report.alreadyRecorded += 1;
      continue;
    }
    if (options.dryRun) {
      report.missing.push({ eventId: view.id, type: view.type, outcome: 'not applied (dry run)' });
      continue;
    }
    const result = await processStripeEvent(deps, raw, 'sync');
    if (result.duplicate) report.alreadyRecorded += 1;
    else report.applied.push({ eventId: view.id, type: view.type, outcome: result.outcome });
    if (result.credited && result.payment) await completeReceipt(deps, result.payment);
  }
  return report;
}
