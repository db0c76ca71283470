import { type Logger, reasonOf } from '../app/log.ts';
import {
  claimDigest,
  dayDigest,
  digestRecipients,
  recordDigestRecipients,
  tenantsWithoutDigest,
  type DayDigest,
} from '../db/queries/operator-digest.ts';
import type { Sql } from '../db/sql.ts';
import { enqueueEmail } from './notices.ts';

/**
 * The operators' daily digest: each tenant's admins and operators get one e-mail per UTC day that
 * had failed payments or write-offs, listing them. Every replica runs the same check a few times an
 * hour; a tenant's day is claimed (operator_digests) in the transaction that writes its e-mails to
 * the outbox, each keyed by its recipient and day, so the digest is written once whichever replica
 * gets there first, and a replica that was down at midnight catches up when it starts.
 */

const DIGEST_INTERVAL_MS = 10 * 60_000;
/**
 * A day is digested this long after it ends, so that settlements and payments whose transactions
 * began before midnight have committed.
 */
const DIGEST_GRACE_MS = 15 * 60_000;
const DAY_MS = 24 * 3_600_000;
const DIGEST_BATCH_TENANTS = 100;
/** One run works through at most this many batches; the next run goes on. */
const MAX_BATCHES_PER_RUN = 10;
/** An operator digest is still worth reading the day after; later it is old news. */
const DIGEST_GIVE_UP_SECONDS = 2 * 24 * 3_600;

export type OperatorDigests = {
  /** Digests the last finished day (as of `now`) for every tenant not yet done; how many were mailed. */
  run(now?: Date): Promise<number>;
  stop(): Promise<void>;
};

/** The UTC day (YYYY-MM-DD) whose digest is due at `now`: the one that ended at least the grace ago. */
function digestDay(now: Date): string {
  return new Date(now.getTime() - DIGEST_GRACE_MS - DAY_MS).toISOString().slice(0, 10);
}

function payloadOf(day: string, digest: DayDigest) {
  return {
    day,
    failures: digest.failures.map((f) => ({
      email: f.email,
      what: f.what,
      amountNanos: f.amountNanos.toString(),
      reason: f.reason,
      at: f.at.toISOString(),
    })),
    failureCount: digest.failureCount,
    failedNanos: digest.failedNanos.toString(),
    writeOffCount: digest.writeOffCount,
    writtenOffNanos: digest.writtenOffNanos.toString(),
  };
}

/** One tenant's digest of the day, in one transaction: how many operators it was written for. */
function digestTenant(sql: Sql, tenantId: string, day: string): Promise<number> {
  return sql.begin(async (tx) => {
    if (!(await claimDigest(tx, tenantId, day))) return 0;
    const digest = await dayDigest(tx, tenantId, day);
    if (digest.failureCount === 0 && digest.writeOffCount === 0) return 0;
    const recipients = await digestRecipients(tx, tenantId);
    const payload = payloadOf(day, digest);
    for (const recipient of recipients) {
      await enqueueEmail(
        tx,
        { id: recipient.id, tenantId, email: recipient.email },
        {
          topic: 'operator_digest',
          cause: `${recipient.id}:${day}`,
          data: payload,
          giveUpAfterSeconds: DIGEST_GIVE_UP_SECONDS,
        },
      );
    }
    await recordDigestRecipients(tx, tenantId, day, recipients.length);
    return recipients.length;
  });
}

export function startOperatorDigests(sql: Sql, log: Logger, intervalMs = DIGEST_INTERVAL_MS): OperatorDigests {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;

  async function run(now = new Date()): Promise<number> {
    const day = digestDay(now);
    let mailed = 0;
    for (let batch = 0; batch < MAX_BATCHES_PER_RUN && !stopped; batch++) {
      const tenants = await tenantsWithoutDigest(sql, day, DIGEST_BATCH_TENANTS);
      for (const tenantId of tenants) {
        // One tenant whose digest fails must not hold back the tenants after it on every run.
        try {
          mailed += await digestTenant(sql, tenantId, day);
        } catch (error) {
          log.warn('operator digest: a tenant failed', { tenantId, reason: reasonOf(error) });
        }
      }
      if (tenants.length < DIGEST_BATCH_TENANTS) break;
    }
    return mailed;
  }

  const tick = () => {
    running = run().catch((error: unknown) => log.warn('operator digest: run failed', { reason: reasonOf(error) }));
  };
  const first = setTimeout(tick, 0);
  const timer = setInterval(tick, intervalMs);

  return {
    run,
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
