import { type Logger, reasonOf } from '../app/log.ts';
import {
  finishOutboxAttempt,
  leaseDueOutbox,
  type AttemptOutcome,
  type OutboxChannel,
  type OutboxRow,
} from '../db/queries/outbox.ts';
import type { Sql } from '../db/sql.ts';

/**
 * The outbox worker, one per gateway process. It polls for due rows, leases a batch (rows another
 * replica holds are skipped, never waited for), delivers them with no database connection held,
 * and records each attempt. A failed attempt is retried with bounded exponential back-off until the
 * row's give-up time; a delivery that says it can never succeed (a refused address) fails at once.
 * Nothing on the request path waits for any of this: the worker has its own pool.
 */

/** What a channel's deliverer reports; `permanent` failures are not retried. */
export type Delivery =
  | { ok: true; statusCode?: number }
  | { ok: false; permanent: boolean; error: string; statusCode?: number };
export type Deliverer = (row: OutboxRow, signal: AbortSignal) => Promise<Delivery>;

export type OutboxTiming = {
  pollIntervalMs: number;
  /** The first retry's delay; each further retry doubles it, up to maxRetryDelayMs. */
  firstRetryDelayMs: number;
  maxRetryDelayMs: number;
  /** How long one delivery may take before it is abandoned (and retried). */
  deliveryTimeoutMs: number;
  batchSize: number;
};

export const DEFAULT_OUTBOX_TIMING: OutboxTiming = {
  pollIntervalMs: 1_000,
  firstRetryDelayMs: 10_000,
  maxRetryDelayMs: 60 * 60_000,
  deliveryTimeoutMs: 30_000,
  batchSize: 10,
};

/**
 * A lease outlives the longest delivery by a wide margin, so a slow but live worker is never
 * overtaken by another replica re-sending the same row.
 */
const LEASE_MARGIN_SECONDS = 60;
/** A retry lands within ±20% of its nominal delay, so rows failing together do not retry in lockstep. */
const RETRY_JITTER = 0.2;
/** Attempts are also bounded by count, whatever the timing (three days at the hourly cap is about 80). */
const MAX_OUTBOX_ATTEMPTS = 100;
/** Bounds one tick's work so a large backlog is worked through in slices, not in one endless loop. */
const MAX_BATCHES_PER_TICK = 20;

export type OutboxWorker = {
  /** Delivers what is due now, once; the number of rows attempted. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
};

export function retryDelayMs(timing: OutboxTiming, attempts: number, random = Math.random): number {
  const nominal = Math.min(timing.firstRetryDelayMs * 2 ** Math.max(0, attempts - 1), timing.maxRetryDelayMs);
  return Math.round(nominal * (1 - RETRY_JITTER + 2 * RETRY_JITTER * random()));
}

function outcomeOf(timing: OutboxTiming, row: OutboxRow, delivery: Delivery): AttemptOutcome {
  if (delivery.ok) return { kind: 'sent' };
  if (delivery.permanent || row.attempts >= MAX_OUTBOX_ATTEMPTS) return { kind: 'failed' };
  const delayMs = retryDelayMs(timing, row.attempts);
  if (Date.now() + delayMs > row.giveUpAt.getTime()) return { kind: 'failed' };
  return { kind: 'retry', delayMs };
}

type WorkerDeps = {
  sql: Sql;
  log: Logger;
  deliverers: Record<OutboxChannel, Deliverer>;
  timing?: Partial<OutboxTiming>;
};

/** One delivery attempt of a leased row, recorded while the lease still holds. */
async function attempt(deps: WorkerDeps, timing: OutboxTiming, row: OutboxRow): Promise<void> {
  const startedAt = new Date();
  // In-flight deliveries finish on stop (within their timeout): one cut mid-send would be sent twice.
  const signal = AbortSignal.timeout(timing.deliveryTimeoutMs);
  const delivery: Delivery = await deps.deliverers[row.channel](row, signal).catch((error: unknown) => ({
    ok: false,
    permanent: false,
    error: reasonOf(error),
  }));
  const outcome = outcomeOf(timing, row, delivery);
  const record = {
    startedAt,
    durationMs: Date.now() - startedAt.getTime(),
    ok: delivery.ok,
    statusCode: delivery.statusCode ?? null,
    error: delivery.ok ? null : delivery.error,
  };
  const kept = await deps.sql.begin((tx) => finishOutboxAttempt(tx, row, record, outcome));
  const fields = { outboxId: row.id.toString(), channel: row.channel, topic: row.topic, attempt: row.attempts };
  if (!kept) deps.log.warn('outbox: lease lost before the attempt was recorded', fields);
  else if (outcome.kind === 'failed') deps.log.warn('outbox: gave up', { ...fields, reason: record.error });
  else if (outcome.kind === 'retry')
    deps.log.info('outbox: will retry', { ...fields, reason: record.error, delayMs: outcome.delayMs });
}

export function startOutboxWorker(deps: WorkerDeps): OutboxWorker {
  const timing = { ...DEFAULT_OUTBOX_TIMING, ...deps.timing };
  const leaseSeconds = Math.ceil(timing.deliveryTimeoutMs / 1000) + LEASE_MARGIN_SECONDS;
  let stopped = false;

  async function runOnce(): Promise<number> {
    const rows = await leaseDueOutbox(deps.sql, timing.batchSize, leaseSeconds);
    await Promise.all(rows.map((row) => attempt(deps, timing, row)));
    return rows.length;
  }

  let running: Promise<void> = Promise.resolve();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const loop = async () => {
    try {
      // A full batch means more may be due: go on at once, up to a bound per tick.
      for (let batch = 0; batch < MAX_BATCHES_PER_TICK && !stopped; batch++) {
        if ((await runOnce()) < timing.batchSize) break;
      }
    } catch (error) {
      deps.log.warn('outbox: delivery round failed', { reason: reasonOf(error) });
    }
    if (!stopped) timer = setTimeout(tick, timing.pollIntervalMs);
  };
  const tick = () => {
    running = loop();
  };
  timer = setTimeout(tick, 0);

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
