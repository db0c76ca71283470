import { reasonOf } from '../app/log.ts';
import { recordReceipt, type Payment } from '../db/queries/payments.ts';
import { saveDefaultPaymentMethod } from '../db/queries/stripe-customers.ts';
import type { BillingDeps } from './stripe-client.ts';
import { asJson, readIntent } from './stripe-objects.ts';

/**
 * After a credit: the charge's receipt link for the payments history and, when the customer asked
 * for it, the card to charge for auto top-up. Neither is money, so a failure here is logged and
 * left for a later event (a refund or dispute carries the charge too) rather than failing the credit.
 */
export async function completeReceipt(deps: BillingDeps, payment: Payment): Promise<void> {
  if (!payment.paymentIntentId) return;
  try {
    const intent = readIntent(
      asJson(await deps.stripe.paymentIntents.retrieve(payment.paymentIntentId, { expand: ['latest_charge'] })),
    );
    if (intent?.latestCharge)
      await recordReceipt(deps.sql, payment.id, intent.latestCharge.id, intent.latestCharge.receiptUrl);
    if (payment.savePaymentMethod && intent?.paymentMethodId)
      await saveDefaultPaymentMethod(deps.sql, payment.accountId, intent.paymentMethodId);
  } catch (error) {
    deps.log.warn('stripe: could not read the receipt of a payment', {
      paymentId: payment.id,
      reason: reasonOf(error),
    });
  }
}
