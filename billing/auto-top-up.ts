import { reasonOf } from '../app/log.ts';
import Stripe from 'stripe';
import { claimAutoTopUp, dueForTopUp } from '../db/queries/auto-top-up.ts';
import { attachPaymentIntent, setPaymentStatus, type Payment } from '../db/queries/payments.ts';
import { inTransaction } from '../db/sql.ts';
import { noticeTopUpFailed } from '../notify/payment-notices.ts';
import type { BalanceEvents } from '../ledger/types.ts';
import { nanosToCents } from './amounts.ts';
import { applyTopUpIntent } from './credit.ts';
import { completeReceipt } from './receipts.ts';
import type { BillingDeps } from './stripe-client.ts';
import { asJson, METADATA, readIntent, type IntentView } from './stripe-objects.ts';

/**
 * Runs auto top-ups. The gateway nudges an account after each settled request; a nudge costs one
 * indexed query at most every NUDGE_INTERVAL_MS per account. An attempt claims the period in the
 * database first (so replicas never both charge), then creates an off-session PaymentIntent with
 * the payment's id as idempotency key, and credits it like any other payment: once, by the intent.
 * An answer that never came is settled by the `payment_intent.*` webhook.
 */

const NUDGE_INTERVAL_MS = 5_000;
/** The nudge memory is forgotten wholesale past this size; it only throttles checks. */
const MAX_TRACKED_ACCOUNTS = 10_000;

type TopUpResult =
  | { status: 'skipped'; reason: string }
  | { status: 'credited' | 'failed' | 'pending'; payment: Payment };

export type AutoTopUp = { nudge(accountId: string): void; attempt(accountId: string): Promise<TopUpResult> };

async function chargeOffSession(
  deps: BillingDeps,
  payment: Payment,
  customerId: string,
  paymentMethodId: string,
): Promise<IntentView | 'declined' | 'unknown'> {
  const metadata = {
    [METADATA.paymentId]: payment.id,
    [METADATA.accountId]: payment.accountId,
    [METADATA.tenantId]: payment.tenantId,
    [METADATA.packId]: payment.packId ?? '',
  };
  try {
    const intent = await deps.stripe.paymentIntents.create(
      {
        amount: Number(nanosToCents(payment.priceNanos)),
        currency: 'usd',
        customer: customerId,
        payment_method: paymentMethodId,
        off_session: true,
        confirm: true,
        description: `Auto top-up: ${payment.description}`,
        metadata,
      },
      { idempotencyKey: `tollgate-top-up-${payment.id}` },
    );
    return readIntent(asJson(intent)) ?? 'unknown';
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeCardError)) {
      deps.log.warn('auto top-up: no answer from Stripe; the webhook will settle it', {
        paymentId: payment.id,
        reason: reasonOf(error),
      });
      return 'unknown';
    }
    const intent = error.payment_intent ? readIntent(asJson(error.payment_intent)) : undefined;
    if (intent) return intent;
    await inTransaction(deps.sql, async (tx) => {
      if (await setPaymentStatus(tx, payment.id, 'failed', error.message))
        await noticeTopUpFailed(tx, payment, error.message);
    });
    return 'declined';
  }
}

export function createAutoTopUp(deps: BillingDeps, events: BalanceEvents): AutoTopUp {
  const checkedAt = new Map<string, number>();

  async function attempt(accountId: string): Promise<TopUpResult> {
    const claim = await inTransaction(deps.sql, (tx) => claimAutoTopUp(tx, accountId));
    if ('skipped' in claim) return { status: 'skipped', reason: claim.skipped };
    const { payment } = claim;
    const answer = await chargeOffSession(deps, payment, claim.customerId, claim.paymentMethodId);
    if (answer === 'declined') return { status: 'failed', payment };
    if (answer === 'unknown') return { status: 'pending', payment };
    await attachPaymentIntent(deps.sql, payment.id, answer.id);
    const applied = await inTransaction(deps.sql, (tx) => applyTopUpIntent(tx, answer));
    const current = applied.payment ?? payment;
    if (!applied.credited) return { status: answer.status === 'processing' ? 'pending' : 'failed', payment: current };
    events.publishBalanceChange(accountId);
    await completeReceipt(deps, current);
    return { status: 'credited', payment: current };
  }

  return {
    attempt,
    nudge(accountId) {
      const now = Date.now();
      if ((checkedAt.get(accountId) ?? 0) > now - NUDGE_INTERVAL_MS) return;
      if (checkedAt.size >= MAX_TRACKED_ACCOUNTS) checkedAt.clear();
      checkedAt.set(accountId, now);
      const run = async () => {
        if (await dueForTopUp(deps.sql, accountId)) await attempt(accountId);
      };
      run().catch((error: unknown) => deps.log.warn('auto top-up failed', { accountId, reason: reasonOf(error) }));
    },
  };
}
