import { type Logger, reasonOf } from '../app/log.ts';
import type { Sql, TransactionSql } from '../db/sql.ts';
import { spendPeriodAt } from '../limits/store.ts';
import { emitAccountEvent, money } from './events.ts';
import { enqueueEmail, noticeAccount } from './notices.ts';

/**
 * Notices about refused requests: a `request.refused_credit` webhook event when a request is
 * refused for credit (402), and a "spending limit reached" e-mail when a key's credit cap or a
 * key's or account's spending limit refuses one. A refusal writes nothing else to the database,
 * so these are written on their own, on the notifications' pool, after the answer has gone: the
 * request path only calls `refused`, which never waits.
 *
 * A client hammering a refusal must not flood the outbox. Each notice has a period (the hour for
 * credit refusals, the limit's own period for a spending limit, the cap's amount for a key's cap)
 * in its outbox key, so every replica together writes it once per period; and each replica
 * remembers what it has written this period, so the thousandth refusal costs no query at all.
 */

/** At most one `request.refused_credit` event per account per hour (the hour is the event's period). */
const REFUSED_CREDIT_PERIOD_SECONDS = 3_600;
/** Periods this replica remembers as written; beyond it, the outbox key still de-duplicates. */
const MAX_REMEMBERED = 50_000;
/** Notice writes in flight at once; a refusal beyond it is skipped (the next one writes it). */
const MAX_WRITES_IN_FLIGHT = 8;

type Who = { accountId: string; keyId: string; requestId: string };

export type Refusal =
  | (Who & {
      kind: 'credit';
      /** What refused: the wallet's credit, the key's credit cap, or a reseller's wholesale credit. */
      reason: 'insufficient_credit' | 'key_credit_cap' | 'wholesale_credit';
      neededNanos: bigint;
      /** The key's cap, for a `key_credit_cap` refusal. */
      capNanos: bigint | null;
      keyName: string;
    })
  | (Who & {
      kind: 'spend_limit';
      subject: 'key' | 'account';
      period: 'day' | 'month';
      limitNanos: bigint;
      spentNanos: bigint;
      keyName: string;
    });

export type RefusalNotices = {
  /** Tells of a refused request; returns at once, the notices are written in the background. */
  refused(refusal: Refusal): void;
  stop(): Promise<void>;
};

export const NO_REFUSAL_NOTICES: RefusalNotices = { refused: () => {}, stop: async () => {} };

type Notice = { key: string; expiresAtMs: number; write(tx: TransactionSql): Promise<void> };

/** The limit's own UTC period (limits/store.ts), named by its start: "2026-12-02" for a day, "2026-12" for a month. */
function periodOf(period: 'day' | 'month', now: Date): { label: string; endsAtMs: number } {
  const { startsAt, endsAt } = spendPeriodAt(period, now.getTime());
  return { label: new Date(startsAt).toISOString().slice(0, period === 'day' ? 10 : 7), endsAtMs: endsAt };
}

function limitEmail(refusal: Refusal, cause: string, now: Date): Notice['write'] {
  return async (tx) => {
    const account = await noticeAccount(tx, refusal.accountId);
    if (!account) return;
    const data =
      refusal.kind === 'credit'
        ? { limit: 'key_cap', limitNanos: String(refusal.capNanos ?? 0n), spentNanos: null }
        : {
            limit: `${refusal.subject}_${refusal.period}`,
            limitNanos: String(refusal.limitNanos),
            spentNanos: String(refusal.spentNanos),
          };
    await enqueueEmail(tx, account, {
      topic: 'spend_limit_reached',
      cause,
      data: { ...data, keyName: refusal.keyName, keyId: refusal.keyId, at: now.toISOString() },
    });
  };
}

function creditEvent(refusal: Extract<Refusal, { kind: 'credit' }>, cause: string, from: Date): Notice['write'] {
  return async (tx) => {
    const account = await noticeAccount(tx, refusal.accountId);
    if (!account) return;
    await emitAccountEvent(tx, account, {
      type: 'request.refused_credit',
      cause,
      data: {
        requestId: refusal.requestId,
        keyId: refusal.keyId,
        reason: refusal.reason,
        needed: money(refusal.neededNanos),
        periodStart: from.toISOString(),
        periodSeconds: REFUSED_CREDIT_PERIOD_SECONDS,
      },
    });
  };
}

/** The notices a refusal calls for, each named by its cause and period. */
function noticesOf(refusal: Refusal, now = new Date()): Notice[] {
  if (refusal.kind === 'spend_limit') {
    const period = periodOf(refusal.period, now);
    const subjectId = refusal.subject === 'key' ? refusal.keyId : refusal.accountId;
    const cause = `${refusal.subject}:${subjectId}:${refusal.period}:${period.label}`;
    return [{ key: `limit:${cause}`, expiresAtMs: period.endsAtMs, write: limitEmail(refusal, cause, now) }];
  }
  const periodMs = REFUSED_CREDIT_PERIOD_SECONDS * 1000;
  const from = new Date(Math.floor(now.getTime() / periodMs) * periodMs);
  const cause = `${refusal.accountId}:${from.toISOString()}`;
  const notices: Notice[] = [
    { key: `credit:${cause}`, expiresAtMs: from.getTime() + periodMs, write: creditEvent(refusal, cause, from) },
  ];
  if (refusal.reason === 'key_credit_cap') {
    // A cap is not a period: the notice is once per cap amount, so raising it and reaching it again tells again.
    const capCause = `key:${refusal.keyId}:cap:${refusal.capNanos ?? 0n}`;
    notices.push({
      key: `limit:${capCause}`,
      expiresAtMs: Number.POSITIVE_INFINITY,
      write: limitEmail(refusal, capCause, now),
    });
  }
  return notices;
}

export function createRefusalNotices(sql: Sql, log: Logger): RefusalNotices {
  const written = new Map<string, number>();
  const running = new Set<Promise<void>>();
  let stopped = false;

  function remembered(key: string, nowMs: number): boolean {
    const until = written.get(key);
    if (until !== undefined && until > nowMs) return true;
    // Forgetting costs at most a repeated write, which the outbox's dedupe key absorbs; a scan for
    // expired entries at the bound would cost every refusal a walk over the whole map.
    if (written.size >= MAX_REMEMBERED) written.clear();
    return false;
  }

  function write(notice: Notice): void {
    written.set(notice.key, notice.expiresAtMs);
    const work = sql
      .begin((tx) => notice.write(tx))
      .then(
        () => {},
        (error: unknown) => {
          written.delete(notice.key);
          log.warn('refusal notice not written', {
            notice: notice.key,
            reason: reasonOf(error),
          });
        },
      );
    running.add(work);
    void work.finally(() => running.delete(work));
  }

  return {
    refused(refusal) {
      if (stopped) return;
      const nowMs = Date.now();
      for (const notice of noticesOf(refusal, new Date(nowMs))) {
        if (remembered(notice.key, nowMs) || running.size >= MAX_WRITES_IN_FLIGHT) continue;
        write(notice);
      }
    },
    async stop() {
      stopped = true;
      await Promise.allSettled([...running]);
    },
  };
}
