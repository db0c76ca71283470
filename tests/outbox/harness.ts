import type { OutboxTiming } from '../../outbox/worker.ts';
import { eventually } from '../gateway/harness.ts';
import { startStripeHarness, type StripeHarness } from '../stripe/harness.ts';
import { startTestSmtp, type ReceivedMail, type TestSmtp } from './smtp-server.ts';

/**
 * The whole platform (with its outbox worker) in front of a real SMTP server on loopback, with the
 * worker's timing shortened so retries take milliseconds, not minutes.
 */

export const FAST_TIMING: Partial<OutboxTiming> = {
  pollIntervalMs: 50,
  firstRetryDelayMs: 200,
  maxRetryDelayMs: 800,
  deliveryTimeoutMs: 5_000,
};

/** Each replica also checks every account's balance alerts this often (30 s in production). */
export const THRESHOLD_SWEEP_MS = 200;

export type OutboxHarness = { h: StripeHarness; smtp: TestSmtp; close(): Promise<void> };

export async function startOutboxHarness(env: Record<string, string> = {}): Promise<OutboxHarness> {
  const smtp = await startTestSmtp();
  const h = await startStripeHarness(
    { SMTP_URL: smtp.url, SMTP_FROM: 'Tollgate <no-reply@tollgate.test>', ...env },
    { notifications: { timing: FAST_TIMING, thresholdSweepIntervalMs: THRESHOLD_SWEEP_MS } },
  );
  return {
    h,
    smtp,
    async close() {
      await h.close();
      await smtp.close();
    },
  };
}

/** The messages to one address, once at least `count` of them arrived (or the wait ran out). */
export async function mailTo(smtp: TestSmtp, address: string, count = 1, timeoutMs = 10_000): Promise<ReceivedMail[]> {
  const probe = async () => smtp.messages.filter((m) => m.to.includes(address));
  return eventually(probe, (list) => list.length >= count, timeoutMs);
}

/** Lets the worker run a few more rounds, so a message sent twice would have arrived by now. */
export const settle = () => Bun.sleep(500);
