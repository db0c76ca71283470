import { reasonOf } from '../app/log.ts';
import { InvalidStripeEvent, processStripeEvent } from '../billing/events.ts';
import { completeReceipt } from '../billing/receipts.ts';
import { stripeClient, type BillingDeps } from '../billing/stripe-client.ts';
import { verifyStripeSignature, type SignatureFailure } from '../billing/webhook-signature.ts';
import { GatewayError } from '../core/errors.ts';
import { readRawBody } from '../protocols/request-body.ts';
import { noOptions } from './options.ts';
import type { PluginDefinition } from './types.ts';

/**
 * `stripe-webhook`: `POST /webhooks/stripe`. Verifies the signature on the raw body, then applies
 * the event once (billing/events.ts). Answers 2xx only once the event is durably applied or known
 * to be a duplicate, so anything else makes Stripe deliver it again. Without Stripe configured the
 * route answers 503: Stripe keeps retrying for days, so events sent before the secrets are set
 * still arrive once they are.
 */

const REFUSALS: Record<SignatureFailure, string> = {
  missing_signature: 'Missing Stripe-Signature header.',
  invalid_signature: 'The Stripe-Signature does not match this payload for any configured webhook secret.',
  stale_signature: 'The Stripe-Signature timestamp is outside the tolerance window.',
  invalid_payload: 'The webhook payload is not a Stripe event.',
};

export const stripeWebhook: PluginDefinition<Record<string, never>> = {
  name: 'stripe-webhook',
  parseOptions: noOptions,
  create(_options, services) {
    const settings = services.config.stripe;
    const deps: BillingDeps | undefined = settings
      ? { sql: services.sql, stripe: stripeClient(settings), log: services.log }
      : undefined;
    return {
      name: 'stripe-webhook',
      async handle(ctx) {
        if (!settings || !deps)
          throw new GatewayError(503, 'payments_not_configured', 'Stripe payments are not configured on this server.');
        const body = await readRawBody(ctx);
        const verified = await verifyStripeSignature(
          body,
          ctx.request.headers.get('stripe-signature'),
          settings.webhookSecrets,
        );
        if (!verified.ok) {
          services.log.warn('stripe webhook refused', { requestId: ctx.id, reason: verified.failure });
          throw new GatewayError(400, verified.failure, REFUSALS[verified.failure]);
        }
        let result: Awaited<ReturnType<typeof processStripeEvent>>;
        try {
          result = await processStripeEvent(deps, verified.event, 'webhook');
        } catch (error) {
          if (error instanceof InvalidStripeEvent)
            throw new GatewayError(400, 'invalid_payload', REFUSALS.invalid_payload);
          services.log.error('stripe event failed; Stripe will retry it', {
            requestId: ctx.id,
            reason: reasonOf(error),
          });
          throw new GatewayError(
            500,
            'webhook_failed',
            'The event could not be applied now; Stripe will deliver it again.',
          );
        }
        const payment = result.payment;
        const accountId = payment?.accountId ?? result.accountId;
        if (accountId && result.balanceChanged) services.events.publishBalanceChange(accountId);
        if (payment && result.credited) void completeReceipt(deps, payment);
        services.log.info('stripe event', {
          requestId: ctx.id,
          eventId: result.eventId,
          type: result.type,
          outcome: result.outcome,
          duplicate: result.duplicate,
          paymentId: payment?.id ?? null,
        });
        return Response.json({ received: true, duplicate: result.duplicate, outcome: result.outcome });
      },
    };
  },
};
