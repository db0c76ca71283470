import { type Logger, reasonOf } from '../app/log.ts';
import { periodSpendNanos, type PolicySubject } from '../db/queries/rate-limit-policies.ts';
import type { Sql } from '../db/sql.ts';
import { spendPeriodAt, type LimitStore, type SpendWindow } from './store.ts';

/**
 * Spending counters start from the usage log. A counter only counts while a spending limit
 * applies to its subject, and the in-process store starts empty: without a start, a day limit set
 * at noon would count from noon, and one that survived a restart from the restart. So the first
 * time a replica checks a counter in a period, it raises it to what the usage log says the subject
 * was charged in that period so far (`LimitStore.seedSpend`, which never lowers a counter that
 * counted all along). Charges being written at that moment may be missed, never counted twice.
 *
 * A request waits for its counters' start at most SPEND_SEED_WAIT_MS (a month of a large
 * tenant's usage log is a long sum); the start lands in the store whenever it finishes.
 */

export const SPEND_SEED_WAIT_MS = 250;
/** Counters remembered as started; past this many the memory is cleared and they start again (harmless). */
const SEEDED_LIMIT = 50_000;

export type SeededWindow = SpendWindow & { subject: { kind: PolicySubject; id: string } };
export type SpendSeeder = { ready(windows: readonly SeededWindow[]): Promise<void> };

/** `done` once the start is in the store, so a request finding all of its counters started waits on nothing. */
type Start = { started: Promise<void>; done: boolean };

export function createSpendSeeder(sql: Sql, limits: LimitStore, log: Logger): SpendSeeder {
  const seeded = new Map<string, Start>();
  const seed = (window: SeededWindow): Start => {
    const { index, startsAt, endsAt } = spendPeriodAt(window.period, limits.now());
    const name = `${window.period}:${window.key}:${index}`;
    const known = seeded.get(name);
    if (known) return known;
    if (seeded.size >= SEEDED_LIMIT) seeded.clear();
    const start: Start = { started: Promise.resolve(), done: false };
    start.started = periodSpendNanos(sql, window.subject, new Date(startsAt), new Date(endsAt))
      .then((amountNanos) => limits.seedSpend(window, index, amountNanos))
      .then(() => {
        start.done = true;
      })
      .catch((error: unknown) => {
        seeded.delete(name);
        log.warn('spending counter not started from the usage log; trying again on the next request', {
          counter: window.key,
          reason: reasonOf(error),
        });
      });
    seeded.set(name, start);
    return start;
  };
  return {
    async ready(windows) {
      const starts = windows.map(seed);
      if (starts.every((start) => start.done)) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waited = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SPEND_SEED_WAIT_MS);
      });
      await Promise.race([Promise.all(starts.map((start) => start.started)), waited]).finally(() =>
        clearTimeout(timer),
      );
    },
  };
}
