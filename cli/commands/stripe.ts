import { stripeClient } from '../../billing/stripe-client.ts';
import { syncMissedEvents, type SyncedEvent } from '../../billing/sync-events.ts';
import { createLogger } from '../../app/log.ts';
import { flag, optionalString } from '../args.ts';
import type { Command } from '../command.ts';
import { UsageError } from '../errors.ts';
import { integer } from '../values.ts';

const SYNC = 'stripe sync-events';
const DEFAULT_HOURS = 72;
/** Stripe keeps events for 30 days. */
const MAX_HOURS = 720;

function line(event: SyncedEvent): string {
  return `${event.eventId} ${event.type}: ${event.outcome}`;
}

export const stripeSyncEventsCommand: Command = {
  name: SYNC,
  summary: 'apply the Stripe events the webhook missed; running it again changes nothing',
  options: {
    hours: {
      type: 'string',
      value: 'N',
      help: `how far back to look, in hours (default ${DEFAULT_HOURS}, at most ${MAX_HOURS}: Stripe keeps events 30 days)`,
    },
    'dry-run': { type: 'boolean', help: 'list the events not applied yet without applying them' },
  },
  prepare: (args) => {
    const hoursText = optionalString(args, 'hours');
    const hours = hoursText === undefined ? DEFAULT_HOURS : integer(SYNC, 'hours', hoursText, 1, MAX_HOURS);
    const dryRun = flag(args, 'dry-run');
    return async (session) => {
      const settings = session.config.stripe;
      if (!settings)
        throw new UsageError(`${SYNC}: Stripe is not configured (set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET)`);
      const warnings: string[] = [];
      const log = createLogger('warn', (entry) => warnings.push(entry));
      const since = new Date(Date.now() - hours * 3_600_000);
      const report = await syncMissedEvents(
        { sql: session.db.sql, stripe: stripeClient(settings), log },
        { since, dryRun },
      );
      const done = dryRun ? `${report.missing.length} not applied yet (dry run)` : `${report.applied.length} applied`;
      const lines = [
        ...(dryRun ? report.missing : report.applied).map(line),
        ...warnings.map((warning) => `warning: ${warning}`),
      ];
      lines.push(
        `${SYNC}: ${report.listed} event(s) since ${since.toISOString()}, ${report.alreadyRecorded} already recorded, ${done}`,
      );
      return { json: { since: since.toISOString(), dryRun, ...report, warnings }, text: lines.join('\n') };
    };
  },
};
